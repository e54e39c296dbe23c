using Gatehouse.Benchmarks;

// scripts/bench.sh drives these subcommands against a running Azurite + simulator + host; each writes one JSON
// result (--out) that `report` turns into the table. `hash`, `scanner` and `policy` are BenchmarkDotNet micro-benchmarks and need nothing running.
var command = args.Length > 0 ? args[0] : "help";
var rest = args.Skip(1).ToArray();
try
{
    return command switch
    {
        "hash" => HashCommand.Run(rest),
        "archivesafety" => ArchiveSafetyCommand.Run(rest),
        "staging" => await StagingCommand.RunAsync(Arguments.Parse(rest)),
        "scanner" => await ScannerCommand.RunAsync(rest),
        "policy" => PolicyCommand.Run(rest),
        "policyindex" => await PolicyIndexCommand.RunAsync(Arguments.Parse(rest)),
        "osvimport" => await OsvImportCommand.RunAsync(Arguments.Parse(rest)),
        "synthetic" => await SyntheticCommand.RunAsync(Arguments.Parse(rest)),
        "coldmiss" => await ColdMissCommand.RunAsync(Arguments.Parse(rest)),
        "throughput" => await ThroughputCommand.RunAsync(Arguments.Parse(rest)),
        "download" => await DownloadCommand.RunAsync(Arguments.Parse(rest)),
        "oci" => await OciCommand.RunAsync(Arguments.Parse(rest)),
        "sas" => SasCommand.Run(Arguments.Parse(rest)),
        "wrk" => WrkCommand.Run(Arguments.Parse(rest)),
        "rss" => RssCommand.Run(Arguments.Parse(rest)),
        "hflfs" => await HfLfsCommand.RunAsync(Arguments.Parse(rest)),
        "prefetch" => await PrefetchCommand.RunAsync(Arguments.Parse(rest)),
        "upload" => await UploadCommand.RunAsync(Arguments.Parse(rest)),
        "rescan" => await RescanCommand.RunAsync(Arguments.Parse(rest)),
        "console" => await ConsoleCommand.RunAsync(Arguments.Parse(rest)),
        "report" => ReportCommand.Run(Arguments.Parse(rest)),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return Usage();
}

static int Usage()
{
    Console.Error.WriteLine("""
        Gatehouse.Benchmarks <command> [options]    (scripts/bench.sh runs them all)
          hash [BenchmarkDotNet args]       SHA-256 (IncrementalHash) over 50 MB in memory
          archivesafety [--out F] [BenchmarkDotNet args]
                                            ArchiveSafety over a 50 MB wheel of random data (stored, deflate-6, deflate-1), in memory
          staging    --connection-string CS [--size 200000000] [--runs 3] [--out F]
                                            StagingWriter into the storage, 1 block in flight vs 4
          scanner [--pickle F] [--pickle-opcodes N] [--checkpoint F] [--checkpoint-source S] [--out F] [BenchmarkDotNet args]
                                            Gatehouse.Scanning: the 200,000-entry dict pickle, a PyTorch checkpoint vs sha256
          policy [--calls 200000] [--out F] [--artifacts DIR] [BenchmarkDotNet args]
                                            Gatehouse.Policy: one decision under 200 rules and 50 exceptions, every rule asked
          policyindex --step setup --simulator URL --connection-string CS [--project P] [--versions 500]
          policyindex --step measure --gatehouse URL --token T --policy-file F [--project P] [--versions 500] [--requests 400]
                     [--rounds 2] [--uncached 15] [--reload-seconds 1] [--out F]
          osvimport  --connection-string CS [--records 20000] [--seed 1] [--dir D] [--samples CSV] [--out F]
          synthetic  --simulator URL --project P --version V --size BYTES
          coldmiss   --gatehouse URL --token T --simulator URL --project P --version V --size BYTES --log HOSTLOG [--label L] [--out F]
          throughput --gatehouse URL --token T --project P --filename F --sha256 S --connection-string CS [--repeat 3] [--out F]
          download   --url URL [--token T] [--label L] [--out F]
          oci        --case throughput --gatehouse URL --token T --simulator URL --connection-string CS [--image synthetic/layer1g] [--tag 1.0]
                     [--repeat 5] [--out F]     a cold pull caches the layer; then its blob through /v2/ vs straight from artifacts, alternating
          oci        --case coldpull --gatehouse URL --token T --simulator URL --log HOSTLOG [--image synthetic/layers5x100m]
                     [--tags cold-1,cold-2,cold-3] [--out F]     fresh images pulled once each; the manifest's time split by the host log
          sas        --connection-string CS --container C --blob B
          wrk        --input WRK_OUTPUT --label L [--command C] [--host-log-lines N] [--out F]
          rss        --pid PID --label L [--baseline-mb N] [--bytes N] [--out F]
          hflfs      --gatehouse URL --token T --simulator URL --pid HOSTPID --log HOSTLOG [--repo bench/big] [--path model.safetensors]
                     [--size 5000000000] [--seed 1] [--simulator-pid PID] [--samples CSV] [--out F]
          prefetch   --gatehouse URL --token T --admin-token T --simulator URL --pid HOSTPID --log HOSTLOG [--pickle-bytes 12000000]
                     [--safetensors-bytes 30000000] [--repo bench/prefetch] [--sequential-repo bench/prefetch-sequential]
                     [--timeout-seconds 1800] [--samples CSV] [--out F]
          upload     --connection-string CS --size BYTES [--runs 3] [--timeout-seconds 600] [--label L] [--out F]
                                            write a file into uploads with the SDK; time to its facts row and its upload's verdict
          console    --gatehouse URL --admin-token T --connection-string CS [--count 100000] [--warm 50] [--uncached 5] [--quarantine 10]
                     [--search 5] [--out F]     seed references with decisions; time /admin/stats, /admin/quarantine, /admin/artifacts
          report     --dir RESULTS_DIR
        """);
    return 2;
}
