using System.Diagnostics;
using Gatehouse.TestHelpers;

namespace Gatehouse.Infra.Tests;

/// <summary>
/// scripts/eventgrid-subscription.sh (phase 2), run for real against a stand-in `az` that answers like a deployed app:
/// no Azure here, so these tests pin down the script's decisions (wait for the trigger and its key, deploy
/// eventgrid.bicep compiled by the real Bicep CLI, never show the key, clear failures) rather than Azure's behaviour.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class EventGridSubscriptionScriptTests(InfraWorkspace infra) : IDisposable
{
    private const string Key = "s3cr3t-blobs-extension-key";

    // Records every call, answers from FAKE_* variables; `keys list` has the key only from the FAKE_KEY_AFTER-th call on.
    private const string FakeAz = """
        #!/usr/bin/env bash
        echo "az $*" >> "$FAKE_AZ_LOG"
        case "$1 $2" in
          "account show") [[ "${FAKE_SIGNED_IN:-1}" == 1 ]] || { echo "Please run 'az login'" >&2; exit 1; } ;;
          "functionapp function") printf '%s\n' ${FAKE_FUNCTIONS:-} ;;
          "functionapp keys")
            n=$(( $(cat "$FAKE_AZ_LOG.keys" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$FAKE_AZ_LOG.keys"
            (( n >= ${FAKE_KEY_AFTER:-1} )) && echo "KEYVALUE" ;;
          "deployment group")
            case "$3" in
              show)
                for a in "$@"; do case "$a" in properties.outputs.*) o="${a#properties.outputs.}"; o="${o%.value}";; esac; done
                v="FAKE_OUTPUT_$o"; echo "${!v:-}" ;;
              create|what-if)
                prev=""
                for a in "$@"; do
                  [[ "$prev" == --template-file ]] && grep -q '"Microsoft.EventGrid/systemTopics/eventSubscriptions"' "$a" && echo "TEMPLATE compiled" >> "$FAKE_AZ_LOG"
                  [[ "$prev" == --parameters && "$a" == @* ]] && cat "${a#@}" >> "$FAKE_AZ_LOG"
                  prev="$a"
                done
                echo "uploads-to-scanupload" ;;
            esac ;;
          *) echo "fake az: unexpected call: $*" >&2; exit 9 ;;
        esac
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-eventgrid-script-").FullName;

    private string Log => Path.Combine(_folder, "az.log");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Waits_for_the_trigger_s_key_then_deploys_eventgrid_bicep_without_ever_showing_the_key()
    {
        var run = await RunAsync(Names(new()
        {
            ["FAKE_FUNCTIONS"] = "func-snapshot/Health func-snapshot/ScanUpload",
            ["FAKE_KEY_AFTER"] = "3",
        }));

        Assert.True(run.ExitCode == 0, run.Output);
        var log = await File.ReadAllTextAsync(Log);
        Assert.Equal(3, log.Split('\n').Count(l => l.StartsWith("az functionapp keys list --resource-group rg-gatehouse --name func-snapshot", StringComparison.Ordinal)));
        Assert.Contains("az deployment group create --resource-group rg-gatehouse --name gatehouse-eventgrid --template-file", log);
        Assert.Contains("TEMPLATE compiled", log);
        Assert.Contains("\"functionAppName\": {\n      \"value\": \"func-snapshot\"", log);
        Assert.Contains("\"systemTopicName\": {\n      \"value\": \"egst-snapshot\"", log);
        Assert.Contains("\"storageAccountName\": {\n      \"value\": \"stsnapshot\"", log);
        Assert.Contains("\"blobTriggerFunctionName\": {\n      \"value\": \"ScanUpload\"", log);
        Assert.DoesNotContain(Key, run.Output);
        Assert.DoesNotContain(Key, log);
        Assert.Contains("delivers BlobCreated in 'uploads' to ScanUpload", run.Output);
    }

    [Fact]
    public async Task Takes_the_names_from_the_phase_one_deployment()
    {
        var run = await RunAsync(new()
        {
            ["AZURE_RESOURCE_GROUP"] = "rg-gatehouse",
            ["FAKE_OUTPUT_AZURE_FUNCTION_APP_NAME"] = "func-fromdeployment",
            ["FAKE_OUTPUT_AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"] = "egst-fromdeployment",
            ["FAKE_OUTPUT_AZURE_STORAGE_ACCOUNT_NAME"] = "stfromdeployment",
            ["FAKE_OUTPUT_AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME"] = "eventgrid-deadletter",
            ["FAKE_FUNCTIONS"] = "func-fromdeployment/ScanUpload",
        }, "--deployment", "gatehouse");

        Assert.True(run.ExitCode == 0, run.Output);
        var log = await File.ReadAllTextAsync(Log);
        Assert.Contains("az deployment group show --resource-group rg-gatehouse --name gatehouse --query properties.outputs.AZURE_FUNCTION_APP_NAME.value", log);
        Assert.Contains("\"value\": \"func-fromdeployment\"", log);
        Assert.Contains("\"value\": \"egst-fromdeployment\"", log);
        Assert.Contains("\"value\": \"stfromdeployment\"", log);
    }

    [Fact]
    public async Task In_the_azd_hook_an_app_without_the_blob_trigger_is_reported_and_nothing_is_deployed()
    {
        var run = await RunAsync(Names(new() { ["FAKE_FUNCTIONS"] = "func-snapshot/Health func-snapshot/PypiSimple" }), "--if-trigger-deployed", "--wait", "5");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("has no function named ScanUpload", run.Output);
        Assert.DoesNotContain("deployment group create", await File.ReadAllTextAsync(Log));
    }

    [Fact]
    public async Task By_hand_an_app_without_the_blob_trigger_is_an_error_once_the_wait_is_over()
    {
        var run = await RunAsync(Names(new() { ["FAKE_FUNCTIONS"] = "func-snapshot/Health" }), "--wait", "0");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("the app's functions do not include ScanUpload", run.Output);
        Assert.DoesNotContain("deployment group create", await File.ReadAllTextAsync(Log));
    }

    [Fact]
    public async Task A_trigger_whose_key_never_appears_is_an_error_naming_what_is_missing()
    {
        var run = await RunAsync(Names(new() { ["FAKE_FUNCTIONS"] = "func-snapshot/ScanUpload", ["FAKE_KEY_AFTER"] = "1000" }), "--wait", "0");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("no blobs_extension key yet", run.Output);
    }

    [Fact]
    public async Task Missing_names_and_a_signed_out_az_are_refused_before_anything_is_changed()
    {
        var missing = await RunAsync(new() { ["AZURE_RESOURCE_GROUP"] = "rg-gatehouse" });
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("AZURE_FUNCTION_APP_NAME", missing.Output);

        var signedOut = await RunAsync(Names(new() { ["FAKE_SIGNED_IN"] = "0" }));
        Assert.Equal(2, signedOut.ExitCode);
        Assert.Contains("az login", signedOut.Output);
        Assert.DoesNotContain("deployment group", await File.ReadAllTextAsync(Log));
    }

    private static Dictionary<string, string> Names(Dictionary<string, string> more)
    {
        more["AZURE_RESOURCE_GROUP"] = "rg-gatehouse";
        foreach (var (name, value) in InfraWorkspace.PhaseTwoEnvironment)
        {
            more[name] = value;
        }
        return more;
    }

    private async Task<(int ExitCode, string Output)> RunAsync(Dictionary<string, string> environment, params string[] arguments)
    {
        var bin = Path.Combine(_folder, "bin");
        Directory.CreateDirectory(bin);
        var az = Path.Combine(bin, "az");
        await File.WriteAllTextAsync(az, FakeAz.Replace("KEYVALUE", Key, StringComparison.Ordinal).ReplaceLineEndings("\n") + "\n");
        if (!OperatingSystem.IsWindows()) // the script and its stand-in are bash: these tests run where bash does
        {
            File.SetUnixFileMode(az, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "scripts", "eventgrid-subscription.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in BicepCli.ParameterVariables.Append("AZURE_RESOURCE_GROUP"))
        {
            start.Environment.Remove(name);
        }
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["GATEHOUSE_BICEP"] = infra.Bicep.Path;
        start.Environment["GATEHOUSE_EVENTGRID_POLL_SECONDS"] = "0";
        start.Environment["FAKE_AZ_LOG"] = Log;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        File.WriteAllText(Log, "");

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"eventgrid-subscription.sh {string.Join(' ', arguments)} still ran after 2 minutes");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
