namespace Gatehouse.Licences;

/// <summary>
/// Reads what PyPI projects and Hugging Face repositories declare about their licence into one <see cref="LicenceFinding"/>,
/// so a policy judges an SPDX expression instead of each ecosystem's free text.
/// </summary>
public static class Licence
{
    /// <summary>How much of upstream's own text a finding keeps (licence fields can hold whole licence texts).</summary>
    public const int RawLimit = 200;

    private const string SourceExpression = "License-Expression";
    private const string SourceLicense = "License";
    private const string SourceClassifiers = "classifiers";
    private const string SourceCard = "cardData.license";
    private const string SourceNone = "none";

    /// <summary>
    /// A PyPI release's licence, in this order: a valid <c>License-Expression</c> (PEP 639, core metadata 2.4); else the
    /// <c>License</c> field when it is an SPDX expression, a well-known licence name, or a whole licence text that is one
    /// licence; else the trove licence classifiers (see <see cref="LicenceClassifiers.ToSpdx"/>: one unambiguous classifier
    /// maps, several never do). When none of them gives an expression, the finding names the first field declared and keeps its text.
    /// </summary>
    public static LicenceFinding FromPyPI(string? licenseExpression, string? licenseField, IReadOnlyList<string>? classifiers)
    {
        LicenceFinding? firstDeclared = null;
        if (!string.IsNullOrWhiteSpace(licenseExpression))
        {
            var text = licenseExpression.Trim();
            if (LicenceExpression.TryParse(text, out var expression, out _))
            {
                return new LicenceFinding(expression.ToString(), SourceExpression, Cap(text));
            }
            firstDeclared = new LicenceFinding(null, SourceExpression, Cap(text));
        }
        if (!string.IsNullOrWhiteSpace(licenseField))
        {
            var text = licenseField.Trim();
            if (FromLicenseField(text) is { } expression)
            {
                return new LicenceFinding(expression, SourceLicense, Cap(text));
            }
            firstDeclared ??= new LicenceFinding(null, SourceLicense, Cap(text));
        }
        var licenceClassifiers = LicenceClassifiers.LicenceClassifiersOf(classifiers);
        if (licenceClassifiers.Count > 0)
        {
            var raw = Cap(string.Join("; ", licenceClassifiers));
            if (LicenceClassifiers.ToSpdx(licenceClassifiers) is { } id)
            {
                return new LicenceFinding(id, SourceClassifiers, raw);
            }
            firstDeclared ??= new LicenceFinding(null, SourceClassifiers, raw);
        }
        return firstDeclared ?? new LicenceFinding(null, SourceNone, "");
    }

    /// <summary>
    /// A Hugging Face repository's licence from its card (<c>cardData.license</c>, and <c>license_name</c> when the licence is
    /// <c>other</c>): a Hub licence id becomes its SPDX id where SPDX lists one, else <c>LicenseRef-HF-&lt;id&gt;</c>;
    /// <c>other</c> becomes <c>LicenseRef-&lt;license_name&gt;</c> in the SPDX idstring charset; <c>unknown</c>, or
    /// <c>other</c> without a name, gives no expression. A value that is not a Hub id is read like a PyPI <c>License</c> field.
    /// </summary>
    public static LicenceFinding FromHuggingFace(string? cardLicense, string? licenseName)
    {
        if (string.IsNullOrWhiteSpace(cardLicense))
        {
            return new LicenceFinding(null, SourceNone, "");
        }
        var id = cardLicense.Trim();
        if (id.Equals("other", StringComparison.OrdinalIgnoreCase))
        {
            var name = licenseName?.Trim();
            return string.IsNullOrEmpty(name)
                ? new LicenceFinding(null, SourceCard, Cap(id))
                : new LicenceFinding("LicenseRef-" + HuggingFaceLicences.IdString(name), SourceCard, Cap($"{id} ({name})"));
        }
        if (id.Equals("unknown", StringComparison.OrdinalIgnoreCase))
        {
            return new LicenceFinding(null, SourceCard, Cap(id));
        }
        if (IsHubId(id))
        {
            return new LicenceFinding(HuggingFaceLicences.ToSpdx(id), SourceCard, Cap(id));
        }
        return new LicenceFinding(FromLicenseField(id), SourceCard, Cap(id));
    }

    private static string? FromLicenseField(string text)
    {
        if (LicenceExpression.TryParse(text, out var expression, out _))
        {
            return expression.ToString();
        }
        var singleLine = !text.Contains('\n', StringComparison.Ordinal);
        return singleLine && text.Length <= 100 ? LicenceNames.FromName(text) : LicenceNames.FromText(text);
    }

    /// <summary>Hub licence ids are lower-case letters, digits, <c>.</c>, <c>-</c> and <c>+</c> (<c>openrail++</c>, <c>llama3.1</c>).</summary>
    private static bool IsHubId(string id) =>
        id.Length <= 64 && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '+');

    private static string Cap(string text) => text.Length <= RawLimit ? text : text[..RawLimit];
}
