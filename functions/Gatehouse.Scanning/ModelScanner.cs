using Gatehouse.Scanning.Containers;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning;

/// <summary>
/// The entry point: tells the format by content (never by extension), hands the file to the reader that mirrors its
/// loader, and returns the verdict with every finding.
/// </summary>
public sealed class ModelScanner
{
    private delegate bool HeadTest(ReadOnlySpan<byte> head);

    /// <summary>How content is told apart, in the order tried; each entry says who reads that format this way.</summary>
    private static readonly IReadOnlyList<(string Format, string Reason, HeadTest Matches)> Signatures =
    [
        ("zip", "torch.load takes content starting PK\\x03\\x04 as a zip (_is_zipfile); np.load and Keras open zips with zipfile",
            head => head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8)),
        ("7z", "no loader reads 7z; it is unpacked because it hides checkpoints from scanners that route by extension (nullifAI)",
            head => head.StartsWith(SevenZipReader.Magic)),
        ("npy", "np.load checks the \\x93NUMPY magic", head => head.StartsWith(NpyReader.Magic)),
        ("hdf5", "h5py finds the HDF5 signature at 0 or after a user block of 512·2^k bytes", IsHdf5),
        ("gguf", "llama.cpp checks the GGUF magic", head => head.StartsWith(GgufReader.Magic)),
        ("tar", "tarfile finds 'ustar' at 257, or a v7 header whose checksum adds up", TarArchiveReader.LooksLike),
        ("compressed", "gzip/bz2/xz archives; joblib.load decompresses zlib, gzip, bz2, xz, lzma and lz4 by magic",
            head => CompressedStream.Detect(head) is not null),
        ("safetensors", "a binary u64 length followed by a JSON object", SafetensorsReader.LooksLike),
        ("onnx", "ir_version (ModelProto field 1) first; confirmed by walking the top-level fields",
            head => head.Length >= 2 && head[0] == 0x08 && head[1] is > 0 and < 0x80),
        (SavedModelReader.SavedModelFormat, "tf.saved_model.load parses saved_model.pb as a SavedModel: schema version (field 1), then meta graphs (field 2)",
            SavedModelReader.LooksLikeSavedModel),
        (SavedModelReader.KerasMetadataFormat, "TF-Keras parses keras_metadata.pb as a SavedMetadata: nodes (field 1) of SavedObjects",
            SavedModelReader.LooksLikeKerasMetadata),
        (SavedModelReader.FingerprintFormat, "a SavedModel's fingerprint.pb is a FingerprintDef of hashes (field 1 a varint); nothing loads code from it",
            SavedModelReader.LooksLikeFingerprint),
    ];

    /// <summary>
    /// The loader a file name claims ("pytorch_model.bin": "torch.load"), or null. What that loader does with content of
    /// no format it reads is followed by <see cref="LoaderFallback"/>; this is the only use of a name.
    /// </summary>
    public static string? ClaimedLoader(string fileName) => LoaderFallback.For(fileName)?.Call;

    /// <summary>
    /// The finding for content the scanner reported as format "data" when it goes by <paramref name="fileName"/>, or
    /// null. "data" is content of no model format that a pickle or protobuf loader might still read (an unpickler
    /// would import a global before failing, or the bytes parse as protobuf): not provably inert under a name that
    /// claims such a loader. Content every claimed loader rejects is format <see cref="InertContent.Format"/> instead.
    /// </summary>
    public static ModelFinding? UnrecognisedUnderName(string fileName) =>
        LoaderFallback.For(fileName) is { } loader && (loader.Family != LoaderFallback.Family.Signature || loader.ReadsTar)
            ? Unrecognised(fileName, loader.Call, path: null)
            : null;

    private readonly ScanLimits _limits;

    public ModelScanner(ScanLimits? limits = null) => _limits = limits ?? new ScanLimits();

    /// <summary>Scans one file. <paramref name="stream"/> must be seekable (containers read directories).</summary>
    public Task<FileReport> ScanAsync(Stream stream, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            throw new ArgumentException("The model scanner needs a seekable stream.", nameof(stream));
        }
        // The readers are synchronous (the pickle engine reads forward from a Stream): keep them off the caller's thread.
        return Task.Run(() => Scan(stream, path, cancellationToken), cancellationToken);
    }

    private FileReport Scan(Stream stream, string path, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_limits.MaxDuration <= TimeSpan.Zero)
        {
            deadline.Cancel();
        }
        else
        {
            deadline.CancelAfter(_limits.MaxDuration);
        }
        ScanContext? context = null;
        // Archives the pickle engine finds inside a pickle (torch.storage._load_from_bytes(b"PK…")) come back here.
        var pickles = new PickleScanner(_limits, new PickleScanOptions { NestedArchiveScanner = (archive, at, depth) => ScanNestedArchive(context!, archive, at, depth) });
        context = new ScanContext(_limits, pickles, Route, deadline.Token);
        var size = stream.Length;
        stream.Position = 0;
        var format = "data";
        try
        {
            format = Route(context, stream, null, Path.GetFileName(path), 0);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            context.Add(ContainerRules.TimeLimit, ScanLevel.Suspicious, $"The scan ran past {_limits.MaxDuration}; what was not reached was not checked.");
        }
        return FileReport.From(path, format, context.Findings, size);
    }

    private static IReadOnlyList<ModelFinding> ScanNestedArchive(ScanContext context, ReadOnlyMemory<byte> archive, string path, int depth)
    {
        var nested = context.Nested();
        using var content = new MemoryStream(archive.ToArray(), writable: false);
        nested.Guarded(path, () => nested.Route(content, path, null, depth));
        return nested.Findings;
    }

    /// <summary>Tells the format of one content and scans it; the content's failures become findings about it.</summary>
    private static string Route(ScanContext context, Stream content, string? path, string? name, int depth)
    {
        // Copies made for readers that seek (a zip inside a zip) live as long as this content's scan.
        var copies = new List<Stream>();
        try
        {
            return Route(context, content, path, name, depth, copies);
        }
        finally
        {
            foreach (var copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    private static string Route(ScanContext context, Stream content, string? path, string? name, int depth, List<Stream> copies)
    {
        context.ThrowIfCancelled();
        var start = content.CanSeek ? content.Position : 0;
        var head = new byte[ScanContext.HeadSize];
        var headLength = ScanContext.ReadAtMost(content, head);
        long? total = content.CanSeek ? content.Length - start : headLength < head.Length ? headLength : null;
        var span = head.AsSpan(0, headLength);

        // The content from its first byte, however it can be had.
        Stream Whole()
        {
            if (copies.Count > 0)
            {
                // The content was already copied for a reader that seeks; the copy is the whole of it.
                copies[0].Position = 0;
                return copies[0];
            }
            if (content.CanSeek)
            {
                content.Position = start;
                return start == 0 ? content : new WindowStream(content, start, content.Length - start);
            }
            return new PrefixedStream(head, headLength, content);
        }

        Stream Seekable()
        {
            var whole = Whole();
            if (whole.CanSeek)
            {
                return whole;
            }
            var copy = SeekableCopy.From(whole, context);
            copies.Add(copy);
            return copy;
        }

        var format = Sniff(span);
        if (format is "zip" or "7z" or "tar" or "compressed" && depth >= context.Limits.MaxNestingDepth)
        {
            context.Add(ContainerRules.NestingDepth, ScanLevel.Suspicious,
                $"A {format} container nested {depth} deep, beyond the limit of {context.Limits.MaxNestingDepth}; its content was not checked.", path);
            return format;
        }
        switch (format)
        {
            case "zip":
                context.Guarded(path, () => format = TorchZipReader.Scan(context, Seekable(), path, depth));
                return format;
            case "7z":
                context.Guarded(path, () => SevenZipReader.Scan(context, Seekable(), path, depth));
                return format;
            case "npy":
                context.Guarded(path, () => NpyReader.Scan(context, Whole(), path, depth));
                return format;
            case "hdf5":
                context.Guarded(path, () => format = KerasReader.ScanH5(context, Seekable(), path, name));
                return format;
            case "gguf":
                context.Guarded(path, () => GgufReader.Scan(context, Whole(), path));
                return format;
            case "tar":
                context.Guarded(path, () => format = TarArchiveReader.Scan(context, Whole(), path, depth));
                return format;
            case "compressed":
                return ScanCompressed(context, CompressedStream.Detect(span)!, Whole(), path, name, depth);
            case "safetensors" when SafetensorsReader.RefusedLength(span, total):
                break; // the reference refuses the header length before reading anything: not safetensors, see below
            case "safetensors":
                context.Guarded(path, () => SafetensorsReader.Scan(context, Whole(), path));
                return format;
            case "onnx" or SavedModelReader.SavedModelFormat or SavedModelReader.KerasMetadataFormat or SavedModelReader.FingerprintFormat:
                // Protobuf has no magic: a SavedModel starts like ONNX (field 1 a varint), so each is confirmed by its top level.
                var model = Seekable();
                if (format == "onnx" && OnnxReader.IsModel(model))
                {
                    context.Guarded(path, () => OnnxReader.Scan(context, model, path));
                    return format;
                }
                if (SavedModelReader.Recognise(model, span) is { } graph)
                {
                    context.Guarded(path, () => SavedModelReader.Scan(context, model, path, graph));
                    return graph;
                }
                break; // starts like a protobuf model but is none: the other loaders' fallbacks decide below
        }
        if (PickleSniffer.LooksLikePickle(span, total))
        {
            var scanned = "pickle";
            context.Guarded(path, () => scanned = ScanPickle(context, head.AsSpan(0, headLength), Whole(), path, name, depth));
            CheckPolyglot(context, content, start, path, depth);
            return scanned;
        }
        var polyglot = CheckPolyglot(context, content, start, path, depth);
        if (content.CanSeek && LoaderFallback.HasFarHdf5Signature(content, start))
        {
            // A user block of 64 KiB or more: h5py still finds the file, so Keras' H5 loader reads it.
            format = "hdf5";
            context.Guarded(path, () => format = KerasReader.ScanH5(context, Seekable(), path, name));
            return format;
        }
        if (IsSitePathText(span, headLength >= total) && path is not null && name is not null
            && Path.GetExtension(name).Equals(".pth", StringComparison.OrdinalIgnoreCase))
        {
            return "text";
        }
        var unrecognised = "data";
        context.Guarded(path, () => unrecognised = Unrecognised(context, head.AsSpan(0, headLength), total, Whole, polyglot, path, name, depth));
        return unrecognised;
    }

    /// <summary>
    /// A <c>.pth</c> member of an archive that is plain lines of text is a site-packages path file (what wheels ship),
    /// not a checkpoint: torch.load cannot read text that is not a pickle, and pickles were told apart above. A
    /// top-level <c>.pth</c> file keeps the checkpoint-name rule.
    /// </summary>
    private static bool IsSitePathText(ReadOnlySpan<byte> head, bool wholeFile)
    {
        if (!wholeFile || System.Text.Unicode.Utf8.IsValid(head) is false)
        {
            return false;
        }
        foreach (var b in head)
        {
            if (b < 0x20 && b is not (byte)'\n' and not (byte)'\r' and not (byte)'\t')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The first format whose signature the head carries, or null (pickles are told by walking their opcodes).</summary>
    private static string? Sniff(ReadOnlySpan<byte> head)
    {
        foreach (var (format, _, matches) in Signatures)
        {
            if (matches(head))
            {
                return format;
            }
        }
        return null;
    }

    /// <summary>The HDF5 superblock signature sits at 0, 512, 1024, 2048… (after a user block).</summary>
    public static bool IsHdf5(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        for (var offset = 0; offset + signature.Length <= head.Length; offset = offset == 0 ? 512 : offset * 2)
        {
            if (head[offset..].StartsWith(signature))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A pickle stream: legacy torch (the magic-number pickle first), joblib (NumpyArrayWrapper and raw array regions),
    /// or plain pickles. Returns the format.
    /// </summary>
    private static string ScanPickle(ScanContext context, ReadOnlySpan<byte> head, Stream whole, string? path, string? name, int depth)
    {
        if (LegacyTorchReader.LooksLike(head))
        {
            context.AddRange(LegacyTorchReader.Scan(whole, path, context.Pickles));
            return "pytorch-legacy";
        }
        if (head.IndexOf("NumpyArrayWrapper"u8) >= 0)
        {
            context.AddRange(JoblibReader.Scan(whole, path, context.Pickles));
            return "joblib";
        }
        context.AddRange(context.Pickles.Scan(whole, path, depth, LoaderFallback.For(name)?.Call ?? "pickle.load"));
        return "pickle";
    }

    /// <summary>Decompresses and routes what is inside; a compressed pickle is what joblib writes.</summary>
    private static string ScanCompressed(ScanContext context, CompressedStream.Compressor compressor, Stream compressed, string? path, string? name, int depth)
    {
        var inner = compressor.Name;
        context.Guarded(path, () =>
        {
            GuardedStream? decompressed = null;
            try
            {
                decompressed = CompressedStream.Open(compressor, compressed, context, path);
                inner = context.Route(decompressed, path, InnerName(name, compressor.Name), depth + 1);
            }
            catch (Exception e) when (decompressed is not { BytesWritten: > 0 } && (ScanContext.IsBrokenContent(e) || e is ContainerFormatException))
            {
                // The decoder fails before its first byte: joblib, tarfile and gzip readers raise before anything is
                // unpickled or extracted, and torch.load never decompresses (it unpickles the compressed bytes).
                inner = compressor.Name;
                context.Add(InertContent.Rule, ScanLevel.Safe,
                    $"inert: it starts like {compressor.Name} but does not decode ({e.Message}), so every loader fails before reading anything.", path);
            }
            finally
            {
                decompressed?.Dispose();
            }
        });
        return inner is "pickle" or "joblib" ? "joblib" : inner is "nemo" ? "nemo" : compressor.Name;
    }

    /// <summary>"model.pkl.gz" holds "model.pkl"; a joblib file keeps its name.</summary>
    private static string? InnerName(string? name, string compressor)
    {
        if (name is null)
        {
            return null;
        }
        var extension = Path.GetExtension(name).ToLowerInvariant();
        var strips = compressor switch
        {
            "gzip" => extension is ".gz" or ".tgz",
            "bz2" => extension is ".bz2" or ".tbz2",
            "xz" => extension is ".xz" or ".txz",
            "lz4" => extension == ".lz4",
            "lzma" => extension == ".lzma",
            "zlib" => extension is ".z" or ".zlib",
            _ => false,
        };
        return strips ? name[..^extension.Length] : name;
    }

    /// <summary>A zip directory at the end of content that does not start as a zip: another loader sees an archive.</summary>
    private static bool CheckPolyglot(ScanContext context, Stream content, long start, string? path, int depth)
    {
        if (!content.CanSeek || start != 0 || !TorchZipReader.HasDirectory(content))
        {
            return false;
        }
        // Recorded, not graded: what makes a polyglot dangerous is what its zip holds, and that is scanned.
        context.Add(ContainerRules.Polyglot, ScanLevel.Safe,
            "A zip archive ends this content: zip readers see the archive, the other loader sees the start; both were scanned.", path);
        if (depth < context.Limits.MaxNestingDepth)
        {
            context.Guarded(path, () => TorchZipReader.Scan(context, content, path, depth, embedded: true));
        }
        return true;
    }

    /// <summary>
    /// Content of no known format, followed down the fallback of every loader a name can claim: format
    /// <see cref="InertContent.Format"/> when each of them fails before importing or calling anything, "data" otherwise.
    /// Under a name that claims a loader, the report says where that loader fails (inert) or judges what it reaches.
    /// </summary>
    private static string Unrecognised(ScanContext context, ReadOnlySpan<byte> head, long? total, Func<Stream> whole, bool polyglot, string? path, string? name, int depth)
    {
        var loader = LoaderFallback.For(name);
        var first = LoaderFallback.FirstBytes(head);
        var tar = LoaderFallback.MayBeTar(head);
        var pickle = LoaderFallback.ProbePickle(context, whole(), path, depth, loader?.Family == LoaderFallback.Family.Pickle ? loader.Call : "pickle.load");
        var protobuf = LoaderFallback.MayBeProtobuf(head, total);
        var inertToAll = pickle.Inert && !protobuf && !polyglot && !tar;
        // torch.load tries tarfile before unpickling, and NeMo/TorchServe read tars: a header tarfile accepts is not inert to them.
        var tarReader = tar && loader is { Family: LoaderFallback.Family.Pickle } or { ReadsTar: true };
        switch (loader?.Family)
        {
            case not null when tarReader:
                context.Add(ContainerRules.Unrecognised, ScanLevel.Suspicious,
                    $"Named '{name}' ({loader!.Call}): the first block passes Python's tar checksum, so the loader may read it as a tar archive this scanner could not open.", path);
                break;
            case LoaderFallback.Family.Pickle when pickle.Inert:
                context.Add(InertContent.Rule, ScanLevel.Safe,
                    $"inert: {loader.Call} would fail: {loader.Path}, and the unpickler fails before importing or calling anything: {pickle.Failure} (first bytes {first}).", path);
                break;
            case LoaderFallback.Family.Pickle:
                // The unpickler reaches globals before it fails: judged by them, as any pickle is.
                context.AddRange(pickle.Findings);
                break;
            case LoaderFallback.Family.Protobuf when protobuf:
                context.Add(Unrecognised(name!, loader.Call, path));
                break;
            case LoaderFallback.Family.Protobuf:
                context.Add(InertContent.Rule, ScanLevel.Safe,
                    $"inert: {loader.Call} would fail: {loader.Path}, and these bytes are none (first bytes {first}).", path);
                break;
            case LoaderFallback.Family.Signature when !polyglot:
                context.Add(InertContent.Rule, ScanLevel.Safe, $"inert: {loader.Call} would fail: {loader.Path} (first bytes {first}).", path);
                break;
        }
        return inertToAll ? InertContent.Format : "data";
    }

    private static ModelFinding Unrecognised(string name, string loader, string? path) =>
        new(ContainerRules.Unrecognised, ScanLevel.Suspicious,
            $"Named '{name}' ({loader}) but the content is none of the formats that loader reads, and that loader may still parse it; it is not provably inert.", path);
}
