namespace Gatehouse.Configuration;

/// <summary>Settings under the "Gatehouse" section; env vars spell them Gatehouse__PyPI__IndexUrl and so on.</summary>
public sealed class GatehouseOptions
{
    public const string Section = "Gatehouse";

    public PyPIOptions PyPI { get; set; } = new();
    public HuggingFaceOptions HuggingFace { get; set; } = new();
    public ScanOptions Scan { get; set; } = new();
    public ServingOptions Serving { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    public ArchiveLimits Archive { get; set; } = new();
    public OsvOptions Osv { get; set; } = new();
    public PolicyOptions Policy { get; set; } = new();
    public RescanOptions Rescan { get; set; } = new();
    public PrefetchOptions Prefetch { get; set; } = new();
    public AdminWorkOptions AdminWork { get; set; } = new();
    public Oci.OciOptions Oci { get; set; } = new();
}

/// <summary>
/// Scheduled re-evaluation of cached verdicts (section <c>Gatehouse:Rescan</c>): when it runs and how much of the
/// <c>references</c> table one step of it reads.
/// </summary>
public sealed class RescanOptions
{
    /// <summary>The Functions timer's schedule when the app setting is absent; daily at 03:00 UTC.</summary>
    public const string DefaultSchedule = "0 0 3 * * *";

    /// <summary>When a rescan starts: NCRONTAB with seconds (the Functions timer reads the same app setting).</summary>
    public string Schedule { get; set; } = DefaultSchedule;

    /// <summary>References read per step; each step is one orchestration execution (continue-as-new), so a restart loses at most one.</summary>
    public int BatchSize { get; set; } = 1000;
}

/// <summary>Limits of a Hugging Face prefetch (section <c>Gatehouse:Prefetch</c>): how much of an upstream's tree it follows.</summary>
public sealed class PrefetchOptions
{
    /// <summary>Pages of the Hub's tree listing a prefetch follows before it gives up with an error (an upstream may page forever).</summary>
    public int MaxTreePages { get; set; } = 100;

    /// <summary>A prefetch refuses repositories with more files than this.</summary>
    public int MaxFiles { get; set; } = 10_000;
}

/// <summary>Bounds shared by the administrative runs (prefetches and rescans, section <c>Gatehouse:AdminWork</c>).</summary>
public sealed class AdminWorkOptions
{
    /// <summary>How many activities one prefetch or one rescan runs at once.</summary>
    public int Parallelism { get; set; } = 8;
}

/// <summary>Where the policy comes from and how often Gatehouse looks for a new one.</summary>
public sealed class PolicyOptions
{
    /// <summary>
    /// A local policy file (the standalone host). When empty, the policy is the blob <c>config/policy.yaml</c>, and
    /// when that does not exist either, the built-in default policy.
    /// </summary>
    public string File { get; set; } = "";

    /// <summary>How often the source is checked for a new policy.</summary>
    public int ReloadSeconds { get; set; } = 15;
}

/// <summary>The PyPI remote: where the index lives and which hosts may serve its files.</summary>
public sealed class PyPIOptions
{
    /// <summary>Upstream simple index, with trailing slash.</summary>
    public string IndexUrl { get; set; } = "https://pypi.org/simple/";

    /// <summary>Upstream Warehouse JSON API root, with trailing slash.</summary>
    public string JsonApiUrl { get; set; } = "https://pypi.org/pypi/";

    /// <summary>Hosts files may be fetched from, comma separated; the index host is always allowed.</summary>
    public string FileHosts { get; set; } = "files.pythonhosted.org";

    /// <summary>How long a cached index page counts as fresh.</summary>
    public int IndexTtlSeconds { get; set; } = 300;

    /// <summary>Cache-Control max-age we give clients for index pages.</summary>
    public int ClientMaxAgeSeconds { get; set; } = 60;

    /// <summary>Upstream request timeout.</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 60;
}

/// <summary>The Hugging Face Hub remote (served under <c>/hf</c>; clients set <c>HF_ENDPOINT=https://host/hf</c>).</summary>
public sealed class HuggingFaceOptions
{
    /// <summary>Upstream Hub endpoint, no trailing slash needed.</summary>
    public string Endpoint { get; set; } = "https://huggingface.co";

    /// <summary>Gatehouse's own Hub token, sent upstream as Bearer when set; a client's token is never forwarded.</summary>
    public string? UpstreamToken { get; set; }

    /// <summary>
    /// Hosts the Hub may redirect file downloads to (its LFS CDNs), comma separated; "*.example.org" matches
    /// subdomains. The upstream token is never sent to them: their URLs are pre-signed.
    /// </summary>
    public string FileHosts { get; set; } = "*.huggingface.co,*.hf.co";

    /// <summary>
    /// How long a Hub API answer for a branch or tag (which can move) is served from memory; 0 sends each upstream.
    /// Answers at a commit cannot change and are kept for a day whatever this says.
    /// </summary>
    public int CacheTtlSeconds { get; set; } = 60;

    /// <summary>Upstream request timeout.</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// How long one huggingface_hub GET of a cold file waits for its scan before it is redirected to wait again; below
    /// the client's 10 s read timeout (see <see cref="HuggingFace.HubClientWait"/>).
    /// </summary>
    public int DownloadWaitSliceSeconds { get; set; } = 8;

    /// <summary>How long a prefetch waits for the verdict of a file someone else (a download) is scanning before reporting it as pending.</summary>
    public int PrefetchScanTimeoutSeconds { get; set; } = 1800;
}

/// <summary>How long a first request waits for a scan, and what it is told after.</summary>
public sealed class ScanOptions
{
    public int InlineWaitSeconds { get; set; } = 100;
    public int RetryAfterSeconds { get; set; } = 10;

    /// <summary>The longest a content's scan, fetch included, may take; after that its claim can be taken by another start.</summary>
    public int ClaimMinutes { get; set; } = 120;

    // The budget of each check of one content (Scans/ScanBudget.cs); the defaults are what a 2-core host survives.

    /// <summary>Temp disk a check may hold at most (nested archives spooled for a look inside).</summary>
    public long MaxTempBytes { get; set; } = 1L * 1024 * 1024 * 1024;

    /// <summary>Temp disk every check may hold, however small the content.</summary>
    public long MinTempBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Temp disk per byte of content, between <see cref="MinTempBytes"/> and <see cref="MaxTempBytes"/>.</summary>
    public int TempBytesPerContentByte { get; set; } = 4;

    /// <summary>Wall-clock seconds a check may run from entering its scan slot.</summary>
    public int MaxCheckSeconds { get; set; } = 60;

    /// <summary>Memory the model scanner may hold for one content.</summary>
    public long MaxMemoryBytes { get; set; } = 512L * 1024 * 1024;
}

/// <summary>How allowed blobs reach clients.</summary>
public sealed class ServingOptions
{
    /// <summary>"Stream" (proxy the bytes, local default) or "Sas" (302 to a short-lived read-only SAS, Azure default).</summary>
    public string Mode { get; set; } = "Stream";
    public int SasLifetimeSeconds { get; set; } = 300;
}

/// <summary>Entitlement settings.</summary>
public sealed class AuthOptions
{
    public string Realm { get; set; } = "Gatehouse";

    /// <summary>How long an instance keeps a token's row before reading it again; bounds how late a revocation elsewhere is seen.</summary>
    public int TokenCacheMilliseconds { get; set; } = 1000;

    /// <summary>Failed authentications from one client address within the window before it is answered 429; 0 turns this off.</summary>
    public int FailureLimit { get; set; } = 20;

    public int FailureWindowSeconds { get; set; } = 60;

    /// <summary>How long the secret before a rotation stays valid unless the rotation says otherwise.</summary>
    public int RotationGraceHours { get; set; } = 24;
}

/// <summary>Limits for archive safety; generous enough for real wheels, tight enough for bombs.</summary>
public sealed class ArchiveLimits
{
    public long MaxTotalUncompressedBytes { get; set; } = 4L * 1024 * 1024 * 1024;
    public long MaxEntryUncompressedBytes { get; set; } = 2L * 1024 * 1024 * 1024;
    public int MaxEntries { get; set; } = 100_000;
    public double MaxCompressionRatio { get; set; } = 200;
    /// <summary>Ratio is only judged on members at least this large, so tiny highly compressible files pass.</summary>
    public long RatioThresholdBytes { get; set; } = 1024 * 1024;
    public int MaxNestingDepth { get; set; } = 3;
}

/// <summary>The OSV advisories mirror (section <c>Gatehouse:Osv</c>): where the export comes from and how often.</summary>
public sealed class OsvOptions
{
    /// <summary>The zip of every PyPI advisory OSV publishes (https://google.github.io/osv.dev/data/#data-dumps); only its host is contacted.</summary>
    public string ExportUrl { get; set; } = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip";

    /// <summary>
    /// Further exports, space-separated (a string, not a list: the configuration binder would append configured items to
    /// a default list), each imported on its own beside <see cref="ExportUrl"/>: OSV's Debian and Alpine dumps by default,
    /// for the OS packages of container images. Empty imports only <see cref="ExportUrl"/>.
    /// </summary>
    public string ExtraExportUrls { get; set; } =
        "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip";

    /// <summary>Every configured export, <see cref="ExportUrl"/> first, as written (unparsed; start-up validation checks each is an http(s) URL).</summary>
    public IReadOnlyList<string> ExportUrls() =>
        [ExportUrl, .. ExtraExportUrls.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The Functions timer's schedule (an attribute needs a constant); the standalone host reads <see cref="RefreshSchedule"/>.</summary>
    public const string DefaultRefreshSchedule = "0 0 */6 * * *";

    /// <summary>When the standalone host fetches the export again: NCRONTAB with seconds (every six hours by default).</summary>
    public string RefreshSchedule { get; set; } = DefaultRefreshSchedule;

    /// <summary>How long one project's advisories are kept in memory; an import on this instance clears them at once.</summary>
    public int ProjectCacheSeconds { get; set; } = 300;

    /// <summary>Upstream request timeout for the export download.</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 600;
}
