using System.Text;
using Gatehouse.Scanning.Containers;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// Telling a pickle from other content by walking its opcodes, as the loader would: a pickle member may hide under
/// any name (CVE-2025-1889, corpus case 8.1-6), and protocols 0 and 1 have no <c>\x80</c> marker to sniff.
/// </summary>
public sealed class PickleSnifferTests
{
    [Theory]
    [InlineData("cos\nsystem\n(S'id'\ntR.")]
    [InlineData("(dp0\nS'a'\np1\nI1\ns.")]
    [InlineData("(lp0\nI1\naI2\na.")]
    [InlineData("]q\u0000(K\u0001K\u0002e.")]
    [InlineData("}q\u0000.")]
    [InlineData("S'just a string'\np0\n.")]
    [InlineData("Vunicode\np0\n.")]
    [InlineData("I42\n.")]
    [InlineData("(S'raise RuntimeError()'\nibuiltins\nexec\n.")]
    [InlineData("cos\nsystem\n(S'id'\ntR\u00ff\u00fe garbage")]
    public void Protocol_0_and_1_pickles_without_a_PROTO_opcode_are_recognised(string pickle)
    {
        var bytes = Encoding.Latin1.GetBytes(pickle);

        Assert.True(PickleSniffer.LooksLikePickle(bytes, bytes.Length));
    }

    [Theory]
    [InlineData("little")]
    [InlineData("3\n")]
    [InlineData("0123456789012345678901234567890123456789")]
    [InlineData("{\"architectures\": [\"LlamaForCausalLM\"]}")]
    [InlineData("# Model card\n\nThis model ...")]
    [InlineData("import torch\nmodel = torch.load('x')\n")]
    [InlineData("class Foo(Module):\n  pass\n")]
    [InlineData("config stuff\nmore lines\n")]
    [InlineData("Version: 1.0\nAuthor: someone\n")]
    [InlineData("I42\n")]
    [InlineData("cat\ndog\nfish\n")]
    [InlineData("Project: gatehouse\nAuthor: someone\n")]
    [InlineData("")]
    public void Text_that_starts_with_an_opcode_letter_is_not_a_pickle(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);

        Assert.False(PickleSniffer.LooksLikePickle(bytes, bytes.Length));
    }

    [Fact]
    public void A_protocol_2_marker_followed_by_an_opcode_is_a_pickle_even_if_broken_right_after()
    {
        byte[] bytes = [0x80, 0x04, 0x8D, .. BitConverter.GetBytes(1UL << 60)];

        Assert.True(PickleSniffer.LooksLikePickle(bytes, bytes.Length));
    }

    [Fact]
    public void A_head_full_of_valid_data_opcodes_is_a_pickle_whose_end_lies_further()
    {
        var head = Encoding.ASCII.GetBytes("(lp0\n" + string.Concat(Enumerable.Repeat("I1\na", 20_000)));

        Assert.True(PickleSniffer.LooksLikePickle(head.AsSpan(0, 64 * 1024), head.Length));
        Assert.False(PickleSniffer.LooksLikePickle(head, head.Length));
    }
}
