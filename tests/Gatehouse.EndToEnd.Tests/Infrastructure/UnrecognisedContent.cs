using System.Security.Cryptography;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Content that a model name's loader would read but that is no model: quarantined as <c>container.unrecognised</c>.
/// Random bytes no longer serve (the scanner reports them inert: every loader fails before importing anything).
/// </summary>
public static class UnrecognisedContent
{
    /// <summary>
    /// A bare protobuf message, new on every call: field 1 holding <paramref name="letters"/> random letters (the
    /// default makes it big enough for the simulator to serve it through LFS, as real weights are). TensorFlow would
    /// parse it as a <c>SavedModel</c> and find no graph, so under <c>*.pb</c> it cannot be proven inert, and under any
    /// other name it is plain data.
    /// </summary>
    public static byte[] Protobuf(int letters = 64 * 1024)
    {
        var message = new List<byte> { 0x0A };
        // The length as a protobuf varint: 7 bits at a time, low first, the high bit saying more follow.
        for (var rest = (uint)letters; ; rest >>= 7)
        {
            message.Add((byte)(rest < 0x80 ? rest : (rest & 0x7F) | 0x80));
            if (rest < 0x80)
            {
                break;
            }
        }
        message.AddRange(RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz", letters).Select(c => (byte)c));
        return [.. message];
    }
}
