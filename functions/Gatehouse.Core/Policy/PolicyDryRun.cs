using Gatehouse.Pipeline;

namespace Gatehouse.Policy;

/// <summary>
/// A candidate policy tried against every reference Gatehouse has recorded, beside the policy in force, on the same
/// facts at the same moment: what would change (allowed to quarantined and back, with the rule) before it is applied.
/// Files not scanned yet are judged on their remote's facts alone, as a download would be before its fetch.
/// </summary>
public sealed class PolicyDryRun(IReferenceStore references, IFactsStore facts, RemoteRegistry remotes, TimeProvider time)
{
    public async Task<DryRunReport> RunAsync(DeclarativePolicy current, DeclarativePolicy candidate, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var changes = new List<DryRunChange>();
        var evaluated = 0;
        var contents = new Dictionary<string, ContentFacts?>(StringComparer.Ordinal);
        await foreach (var stored in references.ListAsync(cancellationToken))
        {
            var reference = stored.Reference;
            if (!contents.TryGetValue(reference.Sha256, out var content))
            {
                content = await facts.GetAsync(reference.Sha256, cancellationToken) is { IsCurrent: true } known ? known : null;
                contents[reference.Sha256] = content;
            }
            var remote = remotes[reference.Remote];
            var context = remote.ContextOf(reference) with { Facts = await remote.GatherAsync(reference, FactScope.Full, cancellationToken) };
            var input = new PolicyInput(context, content);
            var before = current.Evaluate(input, now);
            var after = candidate.Evaluate(input, now);
            evaluated++;
            if (before.Decision != after.Decision || before.Rule != after.Rule)
            {
                changes.Add(new DryRunChange(reference.Remote.Name, reference.Subject, reference.FileName, reference.Sha256, content is not null,
                    new DryRunSide(before.Decision, before.Rule, before.PolicyRule, before.Reason), new DryRunSide(after.Decision, after.Rule, after.PolicyRule, after.Reason)));
            }
        }
        return new DryRunReport(current.Version, candidate.Version, now, evaluated, changes);
    }
}

/// <summary>What a dry run found: how many references it judged, and those whose decision or rule would change.</summary>
public sealed record DryRunReport(string CurrentVersion, string CandidateVersion, DateTimeOffset At, int Evaluated, IReadOnlyList<DryRunChange> Changes);

/// <summary>One reference whose decision would change.</summary>
/// <param name="ContentScanned">Its content has been scanned (else it was judged on its remote's facts alone).</param>
public sealed record DryRunChange(string Remote, string Subject, string File, string Sha256, bool ContentScanned, DryRunSide Current, DryRunSide Candidate);

/// <summary>A decision on one side of a dry run.</summary>
public sealed record DryRunSide(Decision Decision, string Rule, string PolicyRule, string Reason);
