using System.CommandLine;
using Gatehouse.Cli.Audit;
using Gatehouse.Cli.Bom;
using Gatehouse.Cli.Deploy;
using Gatehouse.Cli.Policy;
using Gatehouse.Cli.Prefetch;
using Gatehouse.Cli.Quarantine;
using Gatehouse.Cli.Rescan;
using Gatehouse.Cli.Scan;
using Gatehouse.Cli.Tokens;

namespace Gatehouse.Cli;

/// <summary>The <c>gatehouse</c> command tree.</summary>
public static class GatehouseCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Gatehouse: an AI supply-chain firewall for PyPI and Hugging Face.");
        root.Subcommands.Add(ScanCommand.Build());
        root.Subcommands.Add(TokenCommand.Build());
        root.Subcommands.Add(PrefetchCommand.Build());
        root.Subcommands.Add(PolicyCommand.Build());
        root.Subcommands.Add(DeployCommand.Build());
        root.Subcommands.Add(BomCommand.Build());
        root.Subcommands.Add(AuditCommand.Build());
        root.Subcommands.Add(QuarantineCommand.Build());
        root.Subcommands.Add(RescanCommand.Build());
        return root;
    }
}
