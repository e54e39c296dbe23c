namespace Gatehouse.Scanning;

/// <summary>
/// Content its loader rejects before importing or calling anything (random bytes, an empty file, text, a truncated
/// pickle under a checkpoint name) is inert: it is reported with a Safe finding of rule <see cref="Rule"/> that names
/// the loader's path and where it fails, never as Suspicious. Content that reaches a global is judged by that global.
/// </summary>
public static class InertContent
{
    /// <summary>The rule of the Safe finding that says the content is inert and why.</summary>
    public const string Rule = "content.inert";

    /// <summary>The format of content of no model format that every loader a file name can claim rejects before it imports or calls anything.</summary>
    public const string Format = "inert";
}
