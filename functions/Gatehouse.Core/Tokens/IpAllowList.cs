using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Tokens;

/// <summary>
/// The client addresses a token may be used from: CIDR ranges (RFC 4632 for IPv4, RFC 4291 section 2.3 for IPv6) or
/// single addresses. An IPv4 client seen through an IPv6 socket (<c>::ffff:a.b.c.d</c>, RFC 4291 section 2.5.5.2) is
/// compared as the IPv4 address it is.
/// </summary>
public sealed class IpAllowList
{
    private readonly IPNetwork[] _networks;

    private IpAllowList(IPNetwork[] networks) => _networks = networks;

    /// <summary>Whether the list is empty, i.e. every address is allowed.</summary>
    public bool AllowsAny => _networks.Length == 0;

    /// <summary>Parses the entries; throws <see cref="FormatException"/> naming the first one that is neither a CIDR range nor an address.</summary>
    public static IpAllowList Parse(IEnumerable<string> entries) => new([.. entries.Select(ParseEntry)]);

    /// <summary>The entries in their canonical spelling (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>).</summary>
    public static IReadOnlyList<string> Canonical(IEnumerable<string> entries) => [.. entries.Select(e => ParseEntry(e).ToString())];

    /// <summary>Whether <paramref name="address"/> may use the token; an unknown address only when the list is empty.</summary>
    public bool Allows(IPAddress? address)
    {
        if (AllowsAny)
        {
            return true;
        }
        if (address is null)
        {
            return false;
        }
        var client = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return _networks.Any(n => n.Contains(client));
    }

    private static IPNetwork ParseEntry(string entry)
    {
        var text = entry.Trim();
        if (!text.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(text, out var single))
        {
            return new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        }
        // A range with bits set past its prefix (10.0.0.1/8) is refused, not silently widened: it is most likely a typo.
        if (IPNetwork.TryParse(text, out var network) && IPAddress.TryParse(text[..text.IndexOf('/', StringComparison.Ordinal)], out var given)
            && given.Equals(network.BaseAddress))
        {
            return network;
        }
        throw new FormatException($"'{entry}' is not an IP address or a CIDR range with no bits set past its prefix (e.g. 10.0.0.0/8, 2001:db8::/32)");
    }
}
