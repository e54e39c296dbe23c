namespace Gatehouse.Pipeline;

/// <summary>
/// Which remote a file came through ("pypi", "hf"): each remote adapter declares its kind once. The pipeline never
/// branches on it; it finds the adapter with it (<see cref="RemoteRegistry"/>), and nothing parses it out of text.
/// </summary>
public readonly record struct RemoteKind(string Name)
{
    public override string ToString() => Name;
}

/// <summary>What brought a content to the pipeline, for the audit and the logs: a client's request or a prefetch.</summary>
public readonly record struct ScanSource(string Name)
{
    public static readonly ScanSource Request = new("request");
    public static readonly ScanSource Prefetch = new("prefetch");

    public override string ToString() => Name;
}
