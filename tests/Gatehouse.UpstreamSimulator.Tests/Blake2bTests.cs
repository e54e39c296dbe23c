using System.Text;
using Gatehouse.UpstreamSimulator.Catalog;

namespace Gatehouse.UpstreamSimulator.Tests;

public class Blake2bTests
{
    [Theory]
    [InlineData("", 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")]
    [InlineData("abc", 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")]
    public void Matches_the_RFC_7693_and_hashlib_test_vectors(string input, int length, string expected) =>
        Assert.Equal(expected, Convert.ToHexStringLower(Blake2b.Hash(Encoding.ASCII.GetBytes(input), length)));

    [Fact]
    public void Incremental_appends_across_block_boundaries_equal_one_shot_hashing()
    {
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var incremental = new Blake2b(32);
        foreach (var chunk in data.Chunk(127))
        {
            incremental.Append(chunk);
        }

        Assert.Equal(Blake2b.Hash(data), incremental.GetHash());
    }

    [Fact]
    public void Exactly_one_block_is_hashed_as_the_final_block()
    {
        // hashlib.blake2b(bytes(range(128)), digest_size=32).hexdigest()
        var data = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        Assert.Equal("c3582f71ebb2be66fa5dd750f80baae97554f3b015663c8be377cfcb2488c1d1", Convert.ToHexStringLower(Blake2b.Hash(data)));
    }
}
