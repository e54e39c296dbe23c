namespace Gatehouse.UpstreamSimulator;

/// <summary>
/// Command line: <c>dotnet Gatehouse.UpstreamSimulator.dll --urls http://127.0.0.1:8090 --fixtures tests/fixtures/pypi [--data DIR]</c>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = new SimulatorOptions { FixturesPath = Path.Combine("tests", "fixtures", "pypi") };
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = SplitArgument(args, ref i);
            switch (name)
            {
                case "--urls":
                    options.Urls = value;
                    break;
                case "--fixtures":
                    options.FixturesPath = value;
                    break;
                case "--data":
                    options.DataPath = value;
                    break;
                default:
                    await Console.Error.WriteLineAsync($"Unknown argument '{args[i]}'. Usage: --urls URL --fixtures DIR [--data DIR]");
                    return 2;
            }
        }

        await using var app = UpstreamSimulatorApp.Build(options);
        await app.StartAsync();
        foreach (var address in app.Urls)
        {
            Console.WriteLine($"Gatehouse upstream simulator listening on {address} (index: {address.TrimEnd('/')}/simple/)");
        }

        await app.WaitForShutdownAsync();
        return 0;
    }

    private static (string Name, string Value) SplitArgument(string[] args, ref int i)
    {
        var arg = args[i];
        var eq = arg.IndexOf('=');
        if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
        {
            return (arg[..eq], arg[(eq + 1)..]);
        }

        return i + 1 < args.Length ? (arg, args[++i]) : (arg, string.Empty);
    }
}
