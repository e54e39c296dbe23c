using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Licences;

/// <summary>
/// An SPDX license expression (SPDX 2.3 Annex D, https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/),
/// parsed and checked against the embedded SPDX list, so that what a project declares can be judged by a policy rather
/// than compared as text. Records compare by value; <see cref="ToString"/> is the normalised form: listed spelling of
/// every id, operators upper-case, parentheses only where <c>OR</c> sits inside <c>AND</c>.
/// </summary>
public abstract record LicenceExpression
{
    /// <summary>Every licence id the expression names, once each, in order of appearance (with <c>+</c> where written; exceptions not included).</summary>
    public IReadOnlyList<string> LicenceIds
    {
        get
        {
            var ids = new List<string>();
            CollectIds(ids);
            return ids;
        }
    }

    /// <summary>
    /// Parses an SPDX license expression. Licence and exception ids must be on the embedded SPDX list (matched
    /// case-insensitively) or be <c>LicenseRef-…</c> / <c>AdditionRef-…</c> refs; operators are accepted in any case,
    /// although SPDX 2.3 Annex D.2 asks for upper or lower case, and are written upper-case. <c>AND</c> binds tighter
    /// than <c>OR</c>, <c>WITH</c> tighter than both. Errors name the 1-based character position.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out LicenceExpression? expression, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        return LicenceExpressionParser.TryParse(text, out expression, out error);
    }

    /// <summary>
    /// Judges the expression with a per-licence answer (true allowed, false denied, null unknown). <c>OR</c>: allowed when
    /// any branch is allowed, denied when all are denied, else unknown. <c>AND</c>: denied when any part is denied,
    /// allowed when all are allowed, else unknown. <c>X WITH exception</c> is judged by <c>X</c> alone: exceptions grant
    /// extra permissions, they do not take any away. <c>X+</c> is asked as written first; when that is unknown and
    /// <c>X</c> is allowed it is allowed (the recipient may choose version X), otherwise unknown.
    /// </summary>
    public LicenceVerdict Evaluate(Func<string, bool?> isAllowed)
    {
        ArgumentNullException.ThrowIfNull(isAllowed);
        return EvaluateCore(isAllowed);
    }

    /// <summary>The normalised SPDX form.</summary>
    public abstract override string ToString();

    internal abstract LicenceVerdict EvaluateCore(Func<string, bool?> isAllowed);

    internal abstract void CollectIds(List<string> ids);

    private protected static LicenceVerdict FromAnswer(bool? answer) => answer switch
    {
        true => LicenceVerdict.Allowed,
        false => LicenceVerdict.Denied,
        null => LicenceVerdict.Unknown,
    };
}

/// <summary>One licence: a listed id (optionally <c>+</c>, "this version or any later") or a <c>LicenseRef-…</c>.</summary>
/// <param name="Id">The listed spelling of the id, or the ref as written.</param>
/// <param name="OrLater">Whether the expression wrote <c>+</c> after the id.</param>
public sealed record SimpleLicence(string Id, bool OrLater = false) : LicenceExpression
{
    /// <inheritdoc />
    public override string ToString() => OrLater ? Id + "+" : Id;

    internal override LicenceVerdict EvaluateCore(Func<string, bool?> isAllowed)
    {
        var verdict = FromAnswer(isAllowed(ToString()));
        if (verdict != LicenceVerdict.Unknown || !OrLater)
        {
            return verdict;
        }
        return isAllowed(Id) == true ? LicenceVerdict.Allowed : LicenceVerdict.Unknown;
    }

    internal override void CollectIds(List<string> ids)
    {
        var id = ToString();
        if (!ids.Contains(id, StringComparer.Ordinal))
        {
            ids.Add(id);
        }
    }
}

/// <summary>A licence with an exception (<c>GPL-2.0-or-later WITH Classpath-exception-2.0</c>).</summary>
/// <param name="Licence">The licence the exception applies to.</param>
/// <param name="Exception">The listed spelling of the exception id, or an <c>AdditionRef-…</c> as written.</param>
public sealed record LicenceWithException(SimpleLicence Licence, string Exception) : LicenceExpression
{
    /// <inheritdoc />
    public override string ToString() => $"{Licence} WITH {Exception}";

    internal override LicenceVerdict EvaluateCore(Func<string, bool?> isAllowed) => Licence.EvaluateCore(isAllowed);

    internal override void CollectIds(List<string> ids) => Licence.CollectIds(ids);
}

/// <summary>Both sides apply (<c>AND</c>).</summary>
public sealed record LicenceAnd(LicenceExpression Left, LicenceExpression Right) : LicenceExpression
{
    /// <inheritdoc />
    public override string ToString() => $"{Operand(Left)} AND {Operand(Right)}";

    internal override LicenceVerdict EvaluateCore(Func<string, bool?> isAllowed)
    {
        var left = Left.EvaluateCore(isAllowed);
        var right = Right.EvaluateCore(isAllowed);
        if (left == LicenceVerdict.Denied || right == LicenceVerdict.Denied)
        {
            return LicenceVerdict.Denied;
        }
        return left == LicenceVerdict.Allowed && right == LicenceVerdict.Allowed ? LicenceVerdict.Allowed : LicenceVerdict.Unknown;
    }

    internal override void CollectIds(List<string> ids)
    {
        Left.CollectIds(ids);
        Right.CollectIds(ids);
    }

    private static string Operand(LicenceExpression operand) => operand is LicenceOr ? $"({operand})" : operand.ToString();
}

/// <summary>The recipient may choose either side (<c>OR</c>).</summary>
public sealed record LicenceOr(LicenceExpression Left, LicenceExpression Right) : LicenceExpression
{
    /// <inheritdoc />
    public override string ToString() => $"{Left} OR {Right}";

    internal override LicenceVerdict EvaluateCore(Func<string, bool?> isAllowed)
    {
        var left = Left.EvaluateCore(isAllowed);
        var right = Right.EvaluateCore(isAllowed);
        if (left == LicenceVerdict.Allowed || right == LicenceVerdict.Allowed)
        {
            return LicenceVerdict.Allowed;
        }
        return left == LicenceVerdict.Denied && right == LicenceVerdict.Denied ? LicenceVerdict.Denied : LicenceVerdict.Unknown;
    }

    internal override void CollectIds(List<string> ids)
    {
        Left.CollectIds(ids);
        Right.CollectIds(ids);
    }
}
