namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Scans a pickle stream (one or several concatenated pickles) with a symbolic pickle machine: every global the loader
/// would import and every call it would make is judged against the allow-list, then graded by the deny-list.
/// </summary>
public sealed class PickleScanner
{
    public PickleScanner(ScanLimits limits)
        : this(limits, new PickleScanOptions())
    {
    }

    public PickleScanner(ScanLimits limits, PickleScanOptions options)
    {
        Limits = limits;
        Options = options;
    }

    public ScanLimits Limits { get; }

    public PickleScanOptions Options { get; }

    /// <summary>
    /// The memory budget of the file being scanned, shared by every pickle in it (set by the file's scan context); when
    /// null, each <see cref="Open"/> or <see cref="Scan(Stream, string?)"/> has a budget of its own.
    /// </summary>
    internal MemoryBudget? FileMemory { get; set; }

    /// <summary>Scans every pickle in <paramref name="stream"/> from its current position to the end.</summary>
    /// <param name="stream">Read forward only; never seeked, never buffered whole.</param>
    /// <param name="path">Member path used in findings.</param>
    public IReadOnlyList<ModelFinding> Scan(Stream stream, string? path) => Scan(stream, path, depth: 0);

    /// <summary>As <see cref="Scan(Stream, string?)"/>, for a stream nested <paramref name="depth"/> containers deep.</summary>
    public IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, int depth, string? loader = null)
    {
        using var session = Open(stream, path, depth, loader);
        session.ScanToEnd();
        return session.Findings;
    }

    /// <summary>Scans pickle bytes already in memory.</summary>
    public IReadOnlyList<ModelFinding> Scan(ReadOnlyMemory<byte> content, string? path)
    {
        using var stream = new ReadOnlyMemoryStream(content);
        return Scan(stream, path, depth: 0);
    }

    /// <summary>
    /// Loads exactly one pickle from <paramref name="stream"/> and returns its symbolic value with the findings. A
    /// seekable stream is left right after the STOP; a forward-only one may have been read further (use
    /// <see cref="Open"/> to keep reading in the same pass).
    /// </summary>
    public PickleLoadResult LoadOne(Stream stream, string? path, out IReadOnlyList<ModelFinding> findings)
    {
        using var session = Open(stream, path);
        var result = session.LoadOne();
        findings = session.Findings;
        return result;
    }

    /// <summary>
    /// Opens a session for container readers that load pickles one at a time (legacy torch, joblib) and read raw bytes in
    /// between. Findings of the session are its own; dispose it to give unread bytes back to a seekable stream.
    /// </summary>
    public PickleSession Open(Stream stream, string? path, int depth = 0, string? loader = null) =>
        new(this, stream, path, new FindingSink(), new ScanBudget(Limits, FileMemory ?? new MemoryBudget(Limits.MaxMemoryBytes)), depth, dropParseErrors: false) { Loader = loader ?? "the unpickler" };

    /// <summary>A read-only stream over memory without copying it.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => _position = (int)Math.Clamp(value, 0, memory.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => memory.Length + offset,
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
