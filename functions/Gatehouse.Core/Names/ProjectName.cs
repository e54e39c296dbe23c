using System.Text;

namespace Gatehouse.Names;

/// <summary>The spellings of a project name that the checks compare: PEP 503, separators removed, PyPI's ultranormal form.</summary>
internal static class ProjectName
{
    /// <summary>PEP 503 normalisation: runs of <c>-</c>, <c>_</c> and <c>.</c> become one <c>-</c>, lower-cased.</summary>
    public static string Normalise(string name) => PyPI.ProjectName.Normalize(name);

    /// <summary>A normalised name without its separators (<c>urllib-3</c> and <c>urllib3</c> meet here).</summary>
    public static string Collapse(string normalised) => normalised.Replace("-", "", StringComparison.Ordinal);

    /// <summary>
    /// PyPI's "ultranormalised" form (pypi/warehouse <c>warehouse/packaging/models.py</c>, used to refuse confusable
    /// registrations): lower-cased, <c>. _ -</c> removed, <c>l</c> and <c>i</c> read as <c>1</c>, <c>o</c> as <c>0</c>.
    /// </summary>
    public static string Ultranormalise(string normalised)
    {
        var sb = new StringBuilder(normalised.Length);
        foreach (var c in normalised)
        {
            switch (c)
            {
                case '-':
                    break;
                case 'l' or 'i':
                    sb.Append('1');
                    break;
                case 'o':
                    sb.Append('0');
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>True for the characters a normalised PyPI name is made of (PEP 508: ASCII letters, digits, separators).</summary>
    public static bool IsNameChar(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-';

    /// <summary>
    /// Optimal string alignment distance (Damerau–Levenshtein where a swapped adjacent pair costs one edit and no substring
    /// is edited twice), stopping early once it must exceed <paramref name="limit"/> (then returns <c>limit + 1</c>).
    /// </summary>
    public static int Distance(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int limit = int.MaxValue)
    {
        if (Math.Abs(a.Length - b.Length) > limit)
        {
            return limit == int.MaxValue ? limit : limit + 1;
        }
        var width = b.Length + 1;
        var rows = 3 * width <= 768 ? stackalloc int[3 * width] : new int[3 * width];
        var previous2 = rows[..width];
        var previous = rows.Slice(width, width);
        var current = rows.Slice(2 * width, width);
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMinimum = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var value = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, previous2[j - 2] + 1);
                }
                current[j] = value;
                rowMinimum = Math.Min(rowMinimum, value);
            }
            if (rowMinimum > limit)
            {
                return limit + 1;
            }
            var recycled = previous2;
            previous2 = previous;
            previous = current;
            current = recycled;
        }
        return previous[b.Length];
    }
}
