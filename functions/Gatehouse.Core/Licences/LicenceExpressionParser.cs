using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Licences;

/// <summary>
/// Recursive-descent parser for the SPDX license-expression grammar (SPDX 2.3 Annex D.4):
/// <code>
/// or-expression   = and-expression *( "OR" and-expression )
/// and-expression  = term *( "AND" term )
/// term            = "(" or-expression ")" / simple [ "WITH" exception ]
/// simple          = license-id [ "+" ] / [ "DocumentRef-" idstring ":" ] "LicenseRef-" idstring
/// </code>
/// Input is bounded (length and nesting) because it comes from upstream metadata.
/// </summary>
internal static class LicenceExpressionParser
{
    /// <summary>Longest expression read; PyPI's longest real expressions are a few hundred characters.</summary>
    internal const int MaxLength = 8192;

    /// <summary>Deepest parenthesis nesting read, so hostile input cannot exhaust the stack.</summary>
    internal const int MaxDepth = 32;

    public static bool TryParse(string text, [NotNullWhen(true)] out LicenceExpression? expression, [NotNullWhen(false)] out string? error)
    {
        expression = null;
        if (text.Length > MaxLength)
        {
            error = $"the expression is {text.Length} characters long; at most {MaxLength} are read";
            return false;
        }
        if (!Tokenize(text, out var tokens, out error))
        {
            return false;
        }
        if (tokens.Count == 0)
        {
            error = "the expression is empty";
            return false;
        }
        var state = new State(tokens, text.Length);
        if (!state.ParseOr(0, out var parsed, out error))
        {
            return false;
        }
        if (state.Peek() is { } extra)
        {
            error = $"unexpected '{extra.Text}' at position {extra.Position}";
            return false;
        }
        expression = parsed;
        return true;
    }

    private static bool Tokenize(string text, out List<Token> tokens, [NotNullWhen(false)] out string? error)
    {
        tokens = [];
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            if (c is '(' or ')')
            {
                tokens.Add(new Token(c.ToString(), i + 1));
                i++;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')'))
            {
                if (!char.IsAsciiLetterOrDigit(text[i]) && text[i] is not ('-' or '.' or ':' or '+'))
                {
                    error = $"unexpected character '{text[i]}' at position {i + 1}";
                    return false;
                }
                i++;
            }
            tokens.Add(new Token(text[start..i], start + 1));
        }
        error = null;
        return true;
    }

    private sealed record Token(string Text, int Position)
    {
        public bool Is(string keyword) => string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

        public bool IsOperator => Is("AND") || Is("OR") || Is("WITH");
    }

    private sealed class State(List<Token> tokens, int length)
    {
        private int _next;

        public Token? Peek() => _next < tokens.Count ? tokens[_next] : null;

        public bool ParseOr(int depth, [NotNullWhen(true)] out LicenceExpression? expression, [NotNullWhen(false)] out string? error)
        {
            if (!ParseAnd(depth, out expression, out error))
            {
                return false;
            }
            while (Peek() is { } token && token.Is("OR"))
            {
                _next++;
                if (!ParseAnd(depth, out var right, out error))
                {
                    expression = null;
                    return false;
                }
                expression = new LicenceOr(expression, right);
            }
            return true;
        }

        private bool ParseAnd(int depth, [NotNullWhen(true)] out LicenceExpression? expression, [NotNullWhen(false)] out string? error)
        {
            if (!ParseTerm(depth, out expression, out error))
            {
                return false;
            }
            while (Peek() is { } token && token.Is("AND"))
            {
                _next++;
                if (!ParseTerm(depth, out var right, out error))
                {
                    expression = null;
                    return false;
                }
                expression = new LicenceAnd(expression, right);
            }
            return true;
        }

        private bool ParseTerm(int depth, [NotNullWhen(true)] out LicenceExpression? expression, [NotNullWhen(false)] out string? error)
        {
            expression = null;
            var token = Peek();
            if (token is null)
            {
                error = $"expected a licence id at position {length + 1} (end of the expression)";
                return false;
            }
            _next++;
            if (token.Text == "(")
            {
                if (depth + 1 > MaxDepth)
                {
                    error = $"parentheses nested deeper than {MaxDepth} at position {token.Position}";
                    return false;
                }
                if (!ParseOr(depth + 1, out expression, out error))
                {
                    return false;
                }
                if (Peek() is not { Text: ")" })
                {
                    expression = null;
                    error = Peek() is { } other
                        ? $"expected ')' at position {other.Position} but found '{other.Text}' (the '(' is at position {token.Position})"
                        : $"expected ')' at position {length + 1} (end of the expression) to close the '(' at position {token.Position}";
                    return false;
                }
                _next++;
                return true;
            }
            if (!ParseSimple(token, out var simple, out error))
            {
                return false;
            }
            if (Peek() is not { } with || !with.Is("WITH"))
            {
                expression = simple;
                return true;
            }
            _next++;
            if (Peek() is not { } exception || exception.IsOperator || exception.Text is "(" or ")")
            {
                error = Peek() is { } found
                    ? $"expected an exception id after WITH at position {found.Position} but found '{found.Text}'"
                    : $"expected an exception id after WITH at position {length + 1} (end of the expression)";
                return false;
            }
            _next++;
            if (!SpdxLicences.TryCanonicalException(exception.Text, out var exceptionId))
            {
                error = $"unknown licence exception '{exception.Text}' at position {exception.Position} (SPDX License List {SpdxLicences.ListVersion})";
                return false;
            }
            expression = new LicenceWithException(simple, exceptionId);
            return true;
        }

        private static bool ParseSimple(Token token, [NotNullWhen(true)] out SimpleLicence? licence, [NotNullWhen(false)] out string? error)
        {
            licence = null;
            if (token.IsOperator || token.Text == ")")
            {
                error = $"expected a licence id at position {token.Position} but found '{token.Text}'";
                return false;
            }
            // A deprecated id can itself end in '+' (GPL-2.0+ is listed), so the whole word is tried first.
            if (SpdxLicences.TryCanonical(token.Text, out var canonical))
            {
                licence = new SimpleLicence(canonical);
                error = null;
                return true;
            }
            var id = token.Text.EndsWith('+') ? token.Text[..^1] : null;
            if (id is not null && !SpdxLicences.IsLicenceRef(id) && SpdxLicences.TryCanonical(id, out canonical))
            {
                licence = new SimpleLicence(canonical, OrLater: true);
                error = null;
                return true;
            }
            error = id is not null && SpdxLicences.IsLicenceRef(id)
                ? $"'+' may follow a listed licence id only, not a LicenseRef, at position {token.Position + id.Length}"
                : $"unknown licence id '{token.Text}' at position {token.Position} (SPDX License List {SpdxLicences.ListVersion}; use LicenseRef-… for others)";
            return false;
        }
    }
}
