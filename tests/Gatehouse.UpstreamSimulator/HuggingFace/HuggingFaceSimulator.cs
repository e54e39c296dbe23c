namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// The Hugging Face half of the simulator (huggingface.co API, resolve and a CDN path), served from
/// <c>tests/fixtures/hf</c> (see scripts/fixtures/make_hf_fixtures.py). Shares the host, <c>/_sim/down</c> and
/// <c>/_sim/delay</c> with the PyPI half; its own controls live under <c>/_sim/hf/</c>.
/// </summary>
public static class HuggingFaceSimulator
{
    /// <summary>The HF fixtures folder: <c>hf</c> next to the PyPI fixtures folder (tests/fixtures/pypi → tests/fixtures/hf).</summary>
    public static string FixturesPathFor(string pypiFixturesPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(pypiFixturesPath).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)) ?? ".", "hf");

    /// <summary>Maps every HF route; a folder without repos.json serves no repos (every repo is RepoNotFound).</summary>
    public static HfState Map(WebApplication app, string hfFixturesPath, TimeProvider? timeProvider = null)
    {
        var state = new HfState(HfManifest.Load(hfFixturesPath), timeProvider);
        HfApiEndpoints.Map(app, state);
        HfFileEndpoints.Map(app, state);
        HfControlEndpoints.Map(app, state);
        return state;
    }
}
