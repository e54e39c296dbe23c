using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Audit;

/// <summary>
/// The audit's CSV export: RFC 4180 quoting, cells a spreadsheet would run made inert, and the export through
/// <c>GET /admin/audit</c> (by <c>format=csv</c> or <c>Accept: text/csv</c>) over the audit table in Azurite, every page
/// of the range streamed. Each test writes its records on a day of its own, far ahead.
/// </summary>
public sealed class AuditCsvTests
{
    private readonly FakeTimeProvider _time;
    private readonly AuditLog _log;
    private readonly AdminAuditEndpoint _endpoint;
    private readonly string _action = "csvtest." + Guid.NewGuid().ToString("N")[..10];

    public AuditCsvTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.AuditTable);
        _time = new FakeTimeProvider(new DateTimeOffset(2200, 1, 1, 12, 0, 0, TimeSpan.Zero).AddDays(Random.Shared.Next(0, 2_500_000)));
        _log = new AuditLog(storage, _time);
        _endpoint = new AdminAuditEndpoint(new AuditReader(storage, _time), _time);
    }

    private static CancellationToken Ct => CancellationToken.None;

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData(null, "")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("=HYPERLINK(\"http://evil\")", "\"'=HYPERLINK(\"\"http://evil\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tcmd", "'\tcmd")]
    [InlineData("\r=1", "\"'\r=1\"")]
    [InlineData("a=1", "a=1")]
    public void A_cell_is_quoted_as_RFC_4180_says_and_a_formula_is_made_text(string? value, string cell) =>
        Assert.Equal(cell, AuditCsv.Cell(value));

    [Fact]
    public void A_row_has_every_column_in_order_with_empty_cells_kept_and_ends_with_CRLF()
    {
        var at = new DateTimeOffset(2026, 12, 4, 5, 6, 7, TimeSpan.Zero);
        var record = new AuditRecord(at, "download", "=cmd", "a, b", null, "ci", "10.0.0.1", null, new AuditArtifact("pypi", "demo 1.0", "demo.tar.gz", "ab"));

        Assert.Equal("at,action,subject,detail,tokenId,tokenName,clientIp,subjectTokenId,remote,artifactSubject,fileName,sha256\r\n", AuditCsv.Header);
        Assert.Equal("2026-12-04T05:06:07.0000000+00:00,download,'=cmd,\"a, b\",,ci,10.0.0.1,,pypi,demo 1.0,demo.tar.gz,ab\r\n", AuditCsv.Row(record));
    }

    [Fact]
    public async Task Format_csv_streams_every_record_of_the_range_past_one_page_newest_first_as_an_attachment()
    {
        // More than one page of the reader (1000), so the export has to follow the continuation.
        const int Count = 1005;
        var start = _time.GetUtcNow();
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await _log.WriteAsync(new AuditEntry(_action, $"=subject {i}", $"detail, \"{i}\"") { At = start.AddMilliseconds(i) }, ct));
        _time.Advance(TimeSpan.FromMinutes(1));

        var (status, headers, body) = await GetAsync($"?format=csv&action={_action}&from={Uri.EscapeDataString(start.ToString("O"))}");

        Assert.Equal(StatusCodes.Status200OK, status);
        Assert.Equal("text/csv; charset=utf-8", headers.ContentType);
        Assert.Equal("attachment; filename=\"gatehouse-audit.csv\"", headers.ContentDisposition.ToString());
        var lines = body.Split("\r\n");
        Assert.Equal(AuditCsv.Header.TrimEnd(), lines[0]);
        Assert.Equal("", lines[^1]);
        var rows = lines[1..^1];
        Assert.Equal(Count, rows.Length);
        Assert.StartsWith($"{start.AddMilliseconds(Count - 1):O},{_action},'=subject {Count - 1},\"detail, \"\"{Count - 1}\"\"\",", rows[0], StringComparison.Ordinal);
        Assert.EndsWith($",'=subject 0,\"detail, \"\"0\"\"\",,,,,,,,", rows[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_caps_the_rows_and_Accept_text_csv_asks_for_the_export_too()
    {
        for (var i = 0; i < 5; i++)
        {
            await _log.WriteAsync(new AuditEntry(_action, $"subject {i}", "detail") { At = _time.GetUtcNow().AddSeconds(-i) }, Ct);
        }

        var (status, headers, body) = await GetAsync($"?action={_action}&from=1h&limit=3", accept: "text/csv");
        var (_, jsonHeaders, _) = await GetAsync($"?action={_action}&from=1h", accept: "application/json, text/csv;q=0.5");

        Assert.Equal(StatusCodes.Status200OK, status);
        Assert.Equal(AuditCsv.ContentType, headers.ContentType);
        Assert.Equal(["subject 0", "subject 1", "subject 2"], body.Split("\r\n")[1..^1].Select(l => l.Split(',')[2]));
        Assert.StartsWith("application/json", jsonHeaders.ContentType, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?format=xml")]
    [InlineData("?format=csv&format=json")]
    public async Task An_unknown_format_is_a_400(string query)
    {
        var (status, _, body) = await GetAsync(query);

        Assert.Equal(StatusCodes.Status400BadRequest, status);
        Assert.Contains("'format' is csv or json", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_csv_export_refuses_what_the_query_refuses()
    {
        var (status, _, body) = await GetAsync("?format=csv&limit=0");

        Assert.Equal(StatusCodes.Status400BadRequest, status);
        Assert.Contains("'limit' is a whole number", body, StringComparison.Ordinal);
    }

    private async Task<(int Status, IHeaderDictionary Headers, string Body)> GetAsync(string query, string? accept = null)
    {
        var context = new DefaultHttpContext { Request = { Method = "GET", QueryString = new QueryString(query) } };
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }
        var body = new MemoryStream();
        context.Response.Body = body;
        await _endpoint.HandleAsync(context, null);
        return (context.Response.StatusCode, context.Response.Headers, System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }
}
