namespace Gatehouse.Vulnerabilities;

/// <summary>
/// An Alpine package version, <c>digit{.digit}…{letter}{_suffix{#}}…{~hash}{-r#}</c>, ordered as apk-tools orders it
/// (src/version.c, https://gitlab.alpinelinux.org/alpine/apk-tools): numbers compare as numbers (as strings when
/// either has a leading zero), a letter after the numbers sorts above none, suffixes <c>_alpha _beta _pre _rc</c>
/// sort below the release and <c>_cvs _svn _git _hg _p</c> above it, then the <c>-rN</c> revision. A version apk
/// calls invalid still compares, token by token up to where it breaks, as apk does.
/// </summary>
public sealed class AlpineVersion : IComparable<AlpineVersion>
{
    private AlpineVersion(string text) => Text = text;

    public string Text { get; }

    /// <summary>True when apk-tools accepts <paramref name="text"/> as a version (apk_version_validate).</summary>
    public static bool IsValid(string text)
    {
        var t = new Tokens(text);
        while (t.Token < Token.End)
        {
            t.Next();
        }
        return t.Token == Token.End;
    }

    /// <summary>A version apk accepts; the OSV matcher evaluates ranges only between versions it can order.</summary>
    public static bool TryParse(string? text, out AlpineVersion version)
    {
        version = null!;
        var s = text?.Trim() ?? "";
        if (s.Length == 0 || !IsValid(s))
        {
            return false;
        }
        version = new AlpineVersion(s);
        return true;
    }

    public int CompareTo(AlpineVersion? other) => other is null ? 1 : Compare(Text, other.Text);

    public override string ToString() => Text;

    /// <summary>apk_version_compare: &lt;0, 0 or &gt;0.</summary>
    public static int Compare(string a, string b)
    {
        var ta = new Tokens(a);
        var tb = new Tokens(b);
        while (ta.Token == tb.Token && ta.Token < Token.End)
        {
            var r = TokenCompare(ta, tb);
            if (r != 0)
            {
                return r;
            }
            ta.Next();
            tb.Next();
        }
        if (ta.Token == tb.Token)
        {
            return 0;
        }
        // Equal so far: the longer one is greater unless what it goes on with is a pre-release suffix.
        if (ta.Token == Token.Suffix && ta.Suffix < Suffix.None)
        {
            return -1;
        }
        if (tb.Token == Token.Suffix && tb.Suffix < Suffix.None)
        {
            return 1;
        }
        return ta.Token > tb.Token ? -1 : tb.Token > ta.Token ? 1 : 0;
    }

    private static int TokenCompare(Tokens a, Tokens b)
    {
        ulong x, y;
        switch (a.Token)
        {
            case Token.Digit when a.Value.StartsWith('0') || b.Value.StartsWith('0'):
                // A leading zero on either side compares as strings, as Gentoo does.
                return Math.Sign(string.CompareOrdinal(a.Value, b.Value));
            case Token.Digit or Token.InitialDigit or Token.SuffixNumber or Token.RevisionNumber:
                x = a.Number;
                y = b.Number;
                break;
            case Token.Letter:
                x = a.Value[0];
                y = b.Value[0];
                break;
            case Token.Suffix:
                x = (ulong)a.Suffix;
                y = (ulong)b.Suffix;
                break;
            default:
                return Math.Sign(string.CompareOrdinal(a.Value, b.Value));
        }
        return x.CompareTo(y);
    }

    private enum Token
    {
        InitialDigit,
        Digit,
        Letter,
        Suffix,
        SuffixNumber,
        CommitHash,
        RevisionNumber,
        End,
        Invalid,
    }

    private enum Suffix
    {
        Invalid,
        Alpha,
        Beta,
        Pre,
        Rc,
        None,
        Cvs,
        Svn,
        Git,
        Hg,
        P,
    }

    /// <summary>apk's token_state: the current token of a version, read left to right.</summary>
    private sealed class Tokens
    {
        private readonly string _text;
        private int _at;

        public Tokens(string text)
        {
            _text = text;
            Token = Token.InitialDigit;
            Digits();
        }

        public Token Token { get; private set; }

        public Suffix Suffix { get; private set; }

        public ulong Number { get; private set; }

        public string Value { get; private set; } = "";

        public void Next()
        {
            if (_at >= _text.Length)
            {
                Token = Token.End;
                return;
            }
            var c = _text[_at];
            switch (c)
            {
                case >= 'a' and <= 'z':
                    if (Token > Token.Digit)
                    {
                        Token = Token.Invalid;
                        return;
                    }
                    Value = c.ToString();
                    Token = Token.Letter;
                    _at++;
                    return;
                case '.' or (>= '0' and <= '9'):
                    if (c == '.')
                    {
                        if (Token > Token.Digit)
                        {
                            Token = Token.Invalid;
                            return;
                        }
                        _at++;
                    }
                    Token = Token switch
                    {
                        Token.InitialDigit or Token.Digit => Token.Digit,
                        Token.Suffix => Token.SuffixNumber,
                        _ => Token.Invalid,
                    };
                    if (Token != Token.Invalid)
                    {
                        Digits();
                    }
                    return;
                case '_':
                    if (Token > Token.SuffixNumber)
                    {
                        Token = Token.Invalid;
                        return;
                    }
                    _at++;
                    Value = Span(ch => ch is >= 'a' and <= 'z');
                    Suffix = SuffixOf(Value);
                    Token = Suffix == Suffix.Invalid ? Token.Invalid : Token.Suffix;
                    return;
                case '~':
                    if (Token >= Token.CommitHash)
                    {
                        Token = Token.Invalid;
                        return;
                    }
                    _at++;
                    Value = Span(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
                    Token = Value.Length == 0 ? Token.Invalid : Token.CommitHash;
                    return;
                case '-':
                    if (Token >= Token.RevisionNumber || !_text.AsSpan(_at).StartsWith("-r", StringComparison.Ordinal))
                    {
                        Token = Token.Invalid;
                        return;
                    }
                    _at += 2;
                    Token = Token.RevisionNumber;
                    Digits();
                    return;
                default:
                    Token = Token.Invalid;
                    return;
            }
        }

        private void Digits()
        {
            var start = _at;
            ulong n = 0;
            while (_at < _text.Length && _text[_at] is >= '0' and <= '9')
            {
                n = unchecked(n * 10 + (ulong)(_text[_at] - '0'));
                _at++;
            }
            Number = n;
            Value = _text[start.._at];
            if (Value.Length == 0)
            {
                Token = Token.Invalid;
            }
        }

        private string Span(Func<char, bool> accepts)
        {
            var start = _at;
            while (_at < _text.Length && accepts(_text[_at]))
            {
                _at++;
            }
            return _text[start.._at];
        }

        private static Suffix SuffixOf(string s) => s switch
        {
            "alpha" => Suffix.Alpha,
            "beta" => Suffix.Beta,
            "pre" => Suffix.Pre,
            "rc" => Suffix.Rc,
            "cvs" => Suffix.Cvs,
            "svn" => Suffix.Svn,
            "git" => Suffix.Git,
            "hg" => Suffix.Hg,
            "p" => Suffix.P,
            _ => Suffix.Invalid,
        };
    }
}
