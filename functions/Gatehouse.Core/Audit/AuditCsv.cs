using System.Globalization;
using System.Text;

namespace Gatehouse.Audit;

/// <summary>
/// Audit records as CSV (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180): a header row, CRLF line ends, a cell quoted
/// when it holds a comma, a quote or a line break, quotes doubled. A cell that starts with <c>= + - @</c> (or a tab or
/// carriage return) is prefixed with <c>'</c> so a spreadsheet shows it as text instead of running it as a formula
/// (OWASP "CSV Injection"): subjects, details and token names come from clients and reviewers.
/// </summary>
public static class AuditCsv
{
    /// <summary>The media type of the export.</summary>
    public const string ContentType = "text/csv; charset=utf-8";

    /// <summary>The file name a browser saves the export as.</summary>
    public const string FileName = "gatehouse-audit.csv";

    /// <summary>The columns, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
        ["at", "action", "subject", "detail", "tokenId", "tokenName", "clientIp", "subjectTokenId", "remote", "artifactSubject", "fileName", "sha256"];

    /// <summary>The header row, with its line end.</summary>
    public static string Header => Line(Columns);

    /// <summary>One record's row, with its line end.</summary>
    public static string Row(AuditRecord record) => Line(
    [
        record.At.ToString("O", CultureInfo.InvariantCulture), record.Action, record.Subject, record.Detail, record.TokenId, record.TokenName, record.ClientIp,
        record.SubjectTokenId, record.Artifact?.Remote, record.Artifact?.Subject, record.Artifact?.FileName, record.Artifact?.Sha256,
    ]);

    /// <summary>One cell: made inert for spreadsheets, then quoted when RFC 4180 needs it.</summary>
    public static string Cell(string? value)
    {
        var text = value ?? "";
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    private static string Line(IEnumerable<string?> cells)
    {
        var line = new StringBuilder();
        var first = true;
        foreach (var cell in cells)
        {
            if (!first)
            {
                line.Append(',');
            }
            line.Append(Cell(cell));
            first = false;
        }
        return line.Append("\r\n").ToString();
    }
}
