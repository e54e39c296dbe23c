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
        var t = new ApkTokens(text);
        while (t.Current < ApkToken.End)
        {
            t.Next();
        }
        return t.Current == ApkToken.End;
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
        var ta = new ApkTokens(a);
        var tb = new ApkTokens(b);
        while (ta.Current == tb.Current && ta.Current < ApkToken.End)
        {
            var r = TokenCompare(ta, tb);
            if (r != 0)
            {
                return r;
            }
            ta.Next();
            tb.Next();
        }
        if (ta.Current == tb.Current)
        {
            return 0;
        }
        // Equal so far: the longer one is greater unless what it goes on with is a pre-release suffix.
        if (ta.Current == ApkToken.Suffix && ta.SuffixKind < ApkSuffix.None)
        {
            return -1;
        }
        if (tb.Current == ApkToken.Suffix && tb.SuffixKind < ApkSuffix.None)
        {
            return 1;
        }
        return ta.Current > tb.Current ? -1 : tb.Current > ta.Current ? 1 : 0;
    }

    private static int TokenCompare(ApkTokens a, ApkTokens b)
    {
        ulong x, y;
        switch (a.Current)
        {
            case ApkToken.Digit when a.Value.StartsWith('0') || b.Value.StartsWith('0'):
                // A leading zero on either side compares as strings, as Gentoo does.
                return Math.Sign(string.CompareOrdinal(a.Value, b.Value));
            case ApkToken.Digit or ApkToken.InitialDigit or ApkToken.SuffixNumber or ApkToken.RevisionNumber:
                x = a.Number;
                y = b.Number;
                break;
            case ApkToken.Letter:
                x = a.Value[0];
                y = b.Value[0];
                break;
            case ApkToken.Suffix:
                x = (ulong)a.SuffixKind;
                y = (ulong)b.SuffixKind;
                break;
            default:
                return Math.Sign(string.CompareOrdinal(a.Value, b.Value));
        }
        return x.CompareTo(y);
    }

    private enum ApkToken
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

    private enum ApkSuffix
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
    private sealed class ApkTokens
    {
        private readonly string _text;
        private int _at;

        public ApkTokens(string text)
        {
            _text = text;
            Current = ApkToken.InitialDigit;
            Digits();
        }

        public ApkToken Current { get; private set; }

        public ApkSuffix SuffixKind { get; private set; }

        public ulong Number { get; private set; }

        public string Value { get; private set; } = "";

        public void Next()
        {
            if (_at >= _text.Length)
            {
                Current = ApkToken.End;
                return;
            }
            var c = _text[_at];
            switch (c)
            {
                case >= 'a' and <= 'z':
                    if (Current > ApkToken.Digit)
                    {
                        Current = ApkToken.Invalid;
                        return;
                    }
                    Value = c.ToString();
                    Current = ApkToken.Letter;
                    _at++;
                    return;
                case '.' or (>= '0' and <= '9'):
                    if (c == '.')
                    {
                        if (Current > ApkToken.Digit)
                        {
                            Current = ApkToken.Invalid;
                            return;
                        }
                        _at++;
                    }
                    Current = Current switch
                    {
                        ApkToken.InitialDigit or ApkToken.Digit => ApkToken.Digit,
                        ApkToken.Suffix => ApkToken.SuffixNumber,
                        _ => ApkToken.Invalid,
                    };
                    if (Current != ApkToken.Invalid)
                    {
                        Digits();
                    }
                    return;
                case '_':
                    if (Current > ApkToken.SuffixNumber)
                    {
                        Current = ApkToken.Invalid;
                        return;
                    }
                    _at++;
                    Value = Span(ch => ch is >= 'a' and <= 'z');
                    SuffixKind = SuffixOf(Value);
                    Current = SuffixKind == ApkSuffix.Invalid ? ApkToken.Invalid : ApkToken.Suffix;
                    return;
                case '~':
                    if (Current >= ApkToken.CommitHash)
                    {
                        Current = ApkToken.Invalid;
                        return;
                    }
                    _at++;
                    Value = Span(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
                    Current = Value.Length == 0 ? ApkToken.Invalid : ApkToken.CommitHash;
                    return;
                case '-':
                    if (Current >= ApkToken.RevisionNumber || !_text.AsSpan(_at).StartsWith("-r", StringComparison.Ordinal))
                    {
                        Current = ApkToken.Invalid;
                        return;
                    }
                    _at += 2;
                    Current = ApkToken.RevisionNumber;
                    Digits();
                    return;
                default:
                    Current = ApkToken.Invalid;
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
                Current = ApkToken.Invalid;
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

        private static ApkSuffix SuffixOf(string s) => s switch
        {
            "alpha" => ApkSuffix.Alpha,
            "beta" => ApkSuffix.Beta,
            "pre" => ApkSuffix.Pre,
            "rc" => ApkSuffix.Rc,
            "cvs" => ApkSuffix.Cvs,
            "svn" => ApkSuffix.Svn,
            "git" => ApkSuffix.Git,
            "hg" => ApkSuffix.Hg,
            "p" => ApkSuffix.P,
            _ => ApkSuffix.Invalid,
        };
    }
}
