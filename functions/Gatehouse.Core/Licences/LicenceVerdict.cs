namespace Gatehouse.Licences;

/// <summary>What a licence policy makes of an expression: three answers, because "we do not know this licence" must not read as either yes or no.</summary>
public enum LicenceVerdict
{
    /// <summary>The terms a user may choose are all allowed.</summary>
    Allowed,

    /// <summary>Every choice the expression offers includes a denied licence.</summary>
    Denied,

    /// <summary>Neither: some licence involved is one the policy does not judge.</summary>
    Unknown,
}
