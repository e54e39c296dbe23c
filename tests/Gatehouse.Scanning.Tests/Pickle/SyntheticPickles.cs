namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>Pickles laid out opcode for opcode the way CPython's protocol-4 pickler writes them.</summary>
internal static class SyntheticPickles
{
    private const int FrameSizeTarget = 64 * 1024;

    /// <summary>
    /// <c>pickle.dumps({f"k{i}": (i, float(i), "v") for i in range(n)}, protocol=4)</c>: corpus case B2's opcode-dense
    /// benchmark (1,400,489 opcodes for n = 200,000). Returns the bytes and the opcode count.
    /// </summary>
    public static (byte[] Bytes, long Opcodes) LargeDict(int n)
    {
        var body = new PickleAssembler();
        var frames = new List<(int Start, int Length)>();
        var frameStart = 0;
        void Boundary()
        {
            // The pickler commits a frame once it reaches the target size, between objects.
            if (body.Length - frameStart >= FrameSizeTarget)
            {
                frames.Add((frameStart, (int)body.Length - frameStart));
                frameStart = (int)body.Length;
            }
        }

        body.EmptyDict().Memoize();
        var memo = 1;
        var vIndex = -1;
        for (var i = 0; i < n; i++)
        {
            if (i % 1000 == 0)
            {
                body.Mark();
            }
            Boundary();
            body.Unicode($"k{i}").Memoize();
            memo++;
            body.Int(i).Float(i);
            if (vIndex < 0)
            {
                body.Unicode("v").Memoize();
                vIndex = memo++;
            }
            else if (vIndex < 256)
            {
                body.BinGet((byte)vIndex);
            }
            else
            {
                body.LongBinGet((uint)vIndex);
            }
            body.Tuple3().Memoize();
            memo++;
            if (i % 1000 == 999 || i == n - 1)
            {
                body.SetItems();
            }
        }
        if (n % 1000 == 0)
        {
            body.Mark().SetItems(); // CPython's batch_dict_exact ends a full last batch with an empty one
        }
        body.Stop();
        frames.Add((frameStart, (int)body.Length - frameStart));

        var bytes = body.ToArray();
        var output = new PickleAssembler().Proto(4);
        foreach (var (start, length) in frames)
        {
            output.Frame(length).Raw(bytes.AsSpan(start, length));
        }
        return (output.ToArray(), body.OpcodeCount + output.OpcodeCount);
    }
}
