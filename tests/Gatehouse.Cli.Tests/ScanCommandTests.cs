using System.Buffers.Binary;
using System.CommandLine;
using System.Text;
using Gatehouse.Cli.Scan;

namespace Gatehouse.Cli.Tests;

/// <summary><c>gatehouse scan --max-memory</c>: the per-file memory budget from the command line, and its usage errors.</summary>
public sealed class ScanCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-scan-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary><c>{f'k{i}': (i, float(i)) for i in range(count)}</c> at protocol 2, written opcode by opcode.</summary>
    private string DenseDictFile(int count)
    {
        using var pickle = new MemoryStream();
        pickle.Write([0x80, 2, (byte)'}']);
        Span<byte> number = stackalloc byte[8];
        for (var i = 0; i < count; i++)
        {
            if (i % 1000 == 0)
            {
                pickle.WriteByte((byte)'(');
            }
            var key = Encoding.UTF8.GetBytes($"k{i}");
            pickle.Write([0x8C, (byte)key.Length, .. key]); // SHORT_BINUNICODE
            BinaryPrimitives.WriteInt32LittleEndian(number, i);
            pickle.Write([(byte)'J', .. number[..4]]); // BININT
            BinaryPrimitives.WriteDoubleBigEndian(number, i);
            pickle.Write([(byte)'G', .. number, 0x86]); // BINFLOAT, TUPLE2
            if (i % 1000 == 999 || i == count - 1)
            {
                pickle.WriteByte((byte)'u'); // SETITEMS
            }
        }
        pickle.WriteByte((byte)'.');
        var path = Path.Combine(_folder, "dense.pkl");
        File.WriteAllBytes(path, pickle.ToArray());
        return path;
    }

    private static async Task<(int Exit, string Output, string Error)> ScanAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await new RootCommand { ScanCommand.Build() }.Parse(["scan", .. args])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task A_file_that_needs_more_memory_than_max_memory_is_reported_not_safe_with_the_budget_rule()
    {
        var file = DenseDictFile(20_000);

        var unbounded = await ScanAsync(file, "--format", "json");
        Assert.True(unbounded.Exit == 0, unbounded.Output + unbounded.Error);

        var bounded = await ScanAsync(file, "--format", "json", "--max-memory", "64KiB");
        Assert.True(bounded.Exit == 1, bounded.Output + bounded.Error);
        Assert.Contains("scan.budget-exceeded", bounded.Output, StringComparison.Ordinal);
        Assert.Contains("65,536 bytes", bounded.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("12XB")]
    [InlineData("MiB")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999999GiB")]
    public async Task A_max_memory_that_is_not_a_positive_size_exits_2_and_says_what_to_pass(string value)
    {
        var result = await ScanAsync(DenseDictFile(10), "--max-memory", value);

        Assert.Equal(2, result.Exit);
        Assert.Contains($"--max-memory must be a positive number of bytes, optionally with a unit (KB, MB, GB, KiB, MiB, GiB), e.g. 256MiB; not '{value}'.", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Theory]
    [InlineData("268435456", 268_435_456L)]
    [InlineData("256MiB", 268_435_456L)]
    [InlineData("256mib", 268_435_456L)]
    [InlineData("1 GB", 1_000_000_000L)]
    [InlineData("64KiB", 65_536L)]
    [InlineData("2GiB", 2_147_483_648L)]
    [InlineData("100B", 100L)]
    public void Sizes_are_bytes_or_a_number_with_a_decimal_or_binary_unit(string text, long bytes) =>
        Assert.Equal(bytes, ScanCommand.ParseByteSize(text));
}
