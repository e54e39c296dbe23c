using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Gatehouse.UpstreamSimulator.Synthetic;

/// <summary>Fast deterministic PRNG (xoshiro256**); its output is incompressible, so synthetic files cost real bytes.</summary>
internal struct Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    public void Fill(Span<byte> destination)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(destination);
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = Next();
        }

        var tail = destination[(words.Length * sizeof(ulong))..];
        if (!tail.IsEmpty)
        {
            Span<byte> last = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(last, Next());
            last[..tail.Length].CopyTo(tail);
        }
    }

    private ulong Next()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>One step of SplitMix64: also a good 64-bit mixer for deriving independent seeds.</summary>
    public static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
