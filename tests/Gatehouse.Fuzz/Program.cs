using Gatehouse.Fuzz;
using SharpFuzz;

// Gatehouse.Fuzz <target>            : one AFL++ run (scripts/fuzz.sh starts it under afl-fuzz)
// Gatehouse.Fuzz <target> <file>...  : each file through the target once, outside AFL++ (to see a crash's exception)
// Gatehouse.Fuzz --list              : the targets
// Gatehouse.Fuzz --formats <file>... : the format the model scanner tells for each file (scripts/fuzz.sh --seed)
if (args.Length > 0 && args[0] == "--formats")
{
    foreach (var file in args[1..])
    {
        await using var stream = File.OpenRead(file);
        var report = await new Gatehouse.Scanning.ModelScanner().ScanAsync(stream, file, CancellationToken.None);
        Console.WriteLine($"{report.Format}\t{file}");
    }
    return 0;
}
if (args.Length == 0 || args[0] == "--list")
{
    foreach (var t in FuzzTargets.All)
    {
        Console.WriteLine($"{t.Name,-14} {t.Reads}");
    }
    return args.Length == 0 ? 2 : 0;
}
if (FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine($"Unknown target '{args[0]}'; --list shows the targets.");
    return 2;
}
if (args.Length > 1)
{
    var failed = 0;
    foreach (var file in args[1..])
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"FAULT {file}: {e}");
        }
    }
    return failed == 0 ? 0 : 1;
}
Fuzzer.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target.Run(copy.ToArray());
});
return 0;
