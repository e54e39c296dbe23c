using Gatehouse.Licences;
using Gatehouse.Pipeline;

namespace Gatehouse.Policy;

/// <summary>A licence as the policy sees it, in the order of <see cref="PolicyFacts.LicenceStates"/>.</summary>
public enum LicenceState
{
    Allowed = 0,
    Denied = 1,
    Unknown = 2,
    None = 3,
}

/// <summary>
/// A release's licence judged against the policy's lists, as an SPDX expression: <c>MIT OR GPL-3.0-only</c> is allowed
/// when MIT is (the licensee may choose), <c>MIT AND GPL-3.0-only</c> is denied when GPL-3.0-only is (both apply).
/// </summary>
public static class LicenceJudge
{
    public static LicenceState Judge(LicenceInfo licence, LicenceLists lists)
    {
        if (licence.Expression is null)
        {
            return string.IsNullOrWhiteSpace(licence.Raw) ? LicenceState.None : LicenceState.Unknown;
        }
        if (!LicenceExpression.TryParse(licence.Expression, out var expression, out _))
        {
            return LicenceState.Unknown;
        }
        return expression.Evaluate(lists.Judge) switch
        {
            LicenceVerdict.Allowed => LicenceState.Allowed,
            LicenceVerdict.Denied => LicenceState.Denied,
            _ => LicenceState.Unknown,
        };
    }
}
