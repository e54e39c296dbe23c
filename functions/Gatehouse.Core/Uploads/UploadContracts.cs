using Gatehouse.Pipeline;

namespace Gatehouse.Uploads;

/// <summary>Input of <see cref="ScanUploadOrchestrator"/>: one version of one uploaded blob.</summary>
public sealed record UploadScanRequest(string BlobName, string ETag);

/// <summary>How the preparation of an upload left it: decided at once, to be scanned by this orchestration, scanned by someone else, or not at all.</summary>
public enum UploadNext
{
    /// <summary>Its content already has current facts: <see cref="UploadPrepared.Decision"/> holds its decision.</summary>
    Decided,

    /// <summary>This orchestration holds the content's claim and scans it.</summary>
    Scan,

    /// <summary>Another request or prefetch is scanning the same content: its decision is waited for.</summary>
    Wait,

    /// <summary>Superseded or unusable (<see cref="UploadPrepared.Message"/>): nothing to judge.</summary>
    Skip,
}

/// <summary>Output of <see cref="PrepareUploadActivity"/>.</summary>
public sealed record UploadPrepared(UploadNext Next, ScanRequest? Scan, ArtifactDecision? Decision, string? Uploader, string? Message, int WaitSeconds);

/// <summary>Input of <see cref="PublishUploadVerdictActivity"/>: the upload and its verdict (null when none came: the message says why).</summary>
public sealed record UploadVerdict(string InstanceId, UploadScanRequest Upload, ArtifactReference Reference, string Uploader, ArtifactDecision? Decision, string? Message);

/// <summary>Output of <see cref="ScanUploadOrchestrator"/>: what became of the upload, as the Durable status shows it.</summary>
public sealed record UploadScanResult(string BlobName, string ETag, string? Sha256, string? Decision, string? Rule, string? Reason, string? Uploader, string? Message);
