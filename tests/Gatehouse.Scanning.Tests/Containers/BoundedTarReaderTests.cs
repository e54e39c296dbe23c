using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Gatehouse.Scanning.Containers;
using Gatehouse.TestHelpers;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// <see cref="BoundedTarReader"/>: it reads what tar writers produce as tarfile does, and never loads a GNU long name or
/// pax record over its bound: the audit's 256 MiB records are skipped by streaming and reported on the next entry.
/// </summary>
public sealed class BoundedTarReaderTests
{
    private static MemoryStream Written(TarEntryFormat format, Action<TarWriter> build)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, format, leaveOpen: true))
        {
            build(writer);
        }
        stream.Position = 0;
        return stream;
    }

    private static List<(TarMember Member, string Data)> ReadAll(Stream tar)
    {
        using var reader = new BoundedTarReader(tar, leaveOpen: true);
        var members = new List<(TarMember, string)>();
        while (reader.Next() is { } member)
        {
            using var data = new StreamReader(reader.Data, Encoding.UTF8, leaveOpen: true);
            members.Add((member, data.ReadToEnd()));
        }
        return members;
    }

    [Theory]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Ustar)]
    public void Names_kinds_links_and_data_are_what_the_writer_wrote(TarEntryFormat format)
    {
        // A name over 100 bytes needs a GNU long name, a pax path or the ustar prefix, depending on the format.
        var longName = "model/" + string.Join('/', Enumerable.Repeat("segment", 15)) + "/weights.bin";
        using var tar = Written(format, writer =>
        {
            writer.WriteEntry(Entry(format, TarEntryType.Directory, "model/"));
            var file = Entry(format, TarEntryType.RegularFile, longName);
            file.DataStream = new MemoryStream("tensor bytes"u8.ToArray());
            writer.WriteEntry(file);
            var link = Entry(format, TarEntryType.SymbolicLink, "model/latest");
            link.LinkName = "weights.bin";
            writer.WriteEntry(link);
            var hard = Entry(format, TarEntryType.HardLink, "model/copy");
            // A link target over 100 bytes needs a GNU long link or a pax linkpath; ustar has no room for one.
            hard.LinkName = format == TarEntryFormat.Ustar ? "model/latest" : longName;
            writer.WriteEntry(hard);
            writer.WriteEntry(Entry(format, TarEntryType.Fifo, "model/pipe"));
        });

        var members = ReadAll(tar);

        Assert.Equal(["model/", longName, "model/latest", "model/copy", "model/pipe"], members.Select(m => m.Member.Name));
        Assert.Equal([TarMemberKind.Directory, TarMemberKind.File, TarMemberKind.Symlink, TarMemberKind.Hardlink, TarMemberKind.Special],
            members.Select(m => m.Member.Kind));
        Assert.Equal("tensor bytes", members[1].Data);
        Assert.Equal(12, members[1].Member.Size);
        Assert.Equal("weights.bin", members[2].Member.LinkName);
        Assert.Equal(format == TarEntryFormat.Ustar ? "model/latest" : longName, members[3].Member.LinkName);
        Assert.All(members, m => Assert.Null(m.Member.OversizedHeader));
    }

    private static TarEntry Entry(TarEntryFormat format, TarEntryType type, string name) => format switch
    {
        TarEntryFormat.Gnu => new GnuTarEntry(type, name),
        TarEntryFormat.Pax => new PaxTarEntry(type, name),
        _ => new UstarTarEntry(type, name),
    };

    [Fact]
    public void Data_left_unread_is_skipped_to_the_next_header()
    {
        using var tar = Written(TarEntryFormat.Pax, writer =>
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "a") { DataStream = new MemoryStream(new byte[5000]) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "b") { DataStream = new MemoryStream("second"u8.ToArray()) });
        });
        using var reader = new BoundedTarReader(new NonSeekable(tar));

        Assert.Equal("a", reader.Next()!.Name);
        Assert.Equal("b", reader.Next()!.Name);
        Assert.Equal("second", new StreamReader(reader.Data).ReadToEnd());
        Assert.Null(reader.Next());
    }

    [Fact]
    public void A_256_MiB_gnu_long_name_is_skipped_by_streaming_and_reported_on_the_entry_it_names()
    {
        using var file = File.OpenRead(ResourceBombs.LongNameSdist());
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var members = ReadAll(gzip);

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var first = members[0].Member;
        Assert.Contains("GNU long name record of 268,435,456 bytes", first.OversizedHeader);
        // The name is the header's own (the long name was never read), and the entry's data is still there.
        Assert.Equal("longname-1.0/setup.py", first.Name);
        Assert.Contains("setup()", members[0].Data);
        Assert.Equal("longname-1.0/PKG-INFO", members[1].Member.Name);
        Assert.Null(members[1].Member.OversizedHeader);
        Assert.True(allocated < 8 * 1024 * 1024, $"reading the archive allocated {allocated:N0} bytes");
    }

    [Fact]
    public async Task A_256_MiB_pax_record_is_skipped_by_streaming_and_reported_on_the_entry_it_describes()
    {
        await using var file = File.OpenRead(ResourceBombs.PaxSdist());
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var reader = new BoundedTarReader(gzip);

        var first = await reader.NextAsync(CancellationToken.None);
        var second = await reader.NextAsync(CancellationToken.None);

        Assert.Contains("pax extended header of 268,435,456 bytes", first!.OversizedHeader);
        Assert.Equal("paxbomb-1.0/setup.py", first.Name);
        Assert.Equal("paxbomb-1.0/PKG-INFO", second!.Name);
        Assert.Null(await reader.NextAsync(CancellationToken.None));
    }

    [Fact]
    public void A_pax_path_and_size_win_over_the_header_and_a_global_header_applies_only_with_a_local_one()
    {
        using var tar = new MemoryStream();
        WritePax(tar, 'g', "comment=global\n");
        WriteHeader(tar, "plain", '0', 3);
        tar.Write("abc"u8);
        tar.Write(new byte[509]);
        WritePax(tar, 'x', "path=from/pax/record\nsize=2\n");
        WriteHeader(tar, "short", '0', 7);
        tar.Write("xy"u8);
        tar.Write(new byte[510]);
        tar.Write(new byte[1024]);
        tar.Position = 0;

        var members = ReadAll(tar);

        Assert.Equal(["plain", "from/pax/record"], members.Select(m => m.Member.Name));
        Assert.Equal(["abc", "xy"], members.Select(m => m.Data));
    }

    [Fact]
    public void A_header_whose_checksum_does_not_add_up_is_an_error()
    {
        using var tar = new MemoryStream();
        WriteHeader(tar, "broken", '0', 0);
        tar.Position = 148;
        tar.Write("0000001\0"u8);
        tar.Position = 0;

        Assert.Throws<InvalidDataException>(() => ReadAll(tar));
    }

    [Fact]
    public void An_archive_that_ends_inside_an_entry_is_an_error_not_a_short_file()
    {
        using var tar = new MemoryStream();
        WriteHeader(tar, "cut", '0', 1000);
        tar.Write(new byte[100]);
        tar.Position = 0;

        Assert.Throws<EndOfStreamException>(() => ReadAll(tar));
    }

    [Fact]
    public void A_base_256_size_is_read_as_gnu_tar_writes_it()
    {
        using var tar = new MemoryStream();
        var header = Header("big", '0', 0);
        // 0x80 then big-endian: 3 bytes of data.
        Array.Clear(header, 124, 12);
        header[124] = 0x80;
        header[135] = 3;
        Checksum(header);
        tar.Write(header);
        tar.Write("abc"u8);
        tar.Write(new byte[509 + 1024]);
        tar.Position = 0;

        var member = Assert.Single(ReadAll(tar));

        Assert.Equal(3, member.Member.Size);
        Assert.Equal("abc", member.Data);
    }

    private static void WritePax(Stream tar, char type, string records)
    {
        var body = new StringBuilder();
        foreach (var record in records.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // The length counts its own digits: settle it.
            var length = record.Length + 2;
            while (length.ToString().Length + record.Length + 2 != length)
            {
                length = length.ToString().Length + record.Length + 2;
            }
            body.Append($"{length} {record}\n");
        }
        var bytes = Encoding.UTF8.GetBytes(body.ToString());
        WriteHeader(tar, "PaxHeaders/x", type, bytes.Length);
        tar.Write(bytes);
        tar.Write(new byte[(512 - bytes.Length % 512) % 512]);
    }

    private static void WriteHeader(Stream tar, string name, char type, long size) => tar.Write(Header(name, type, size));

    private static byte[] Header(string name, char type, long size)
    {
        var h = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(h, 0);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0')).CopyTo(h, 124);
        h[156] = (byte)type;
        "ustar\u000000"u8.CopyTo(h.AsSpan(257));
        Checksum(h);
        return h;
    }

    private static void Checksum(byte[] h)
    {
        "        "u8.CopyTo(h.AsSpan(148));
        var sum = h.Sum(b => (long)b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(h, 148);
    }

    private sealed class NonSeekable(Stream inner) : ForwardStream
    {
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
    }
}
