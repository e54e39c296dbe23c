using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.TestHelpers;

/// <summary>
/// Git's object id of a file: SHA-1 over "blob &lt;length&gt;\0" and the bytes. The Hugging Face Hub advertises it as the
/// ETag and tree oid of regular files and of LFS pointers, so tests and the simulator compute it independently of the
/// product's own implementation.
/// </summary>
public static class GitBlob
{
    /// <summary>The lowercase hex git blob SHA-1 of <paramref name="bytes"/>.</summary>
    public static string Sha1(byte[] bytes) => Convert.ToHexStringLower(SHA1.HashData([.. Header(bytes.Length), .. bytes]));

    /// <summary>
    /// The "blob &lt;length&gt;\0" prefix git hashes before the content, for callers that stream large content through
    /// an incremental SHA-1 instead of holding it in memory.
    /// </summary>
    public static byte[] Header(long length) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {length}\0"));
}
