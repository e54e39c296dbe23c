namespace Gatehouse.Licences;

/// <summary>
/// What a project or repository declares about its licence, read into one SPDX expression where that can be done
/// honestly, and otherwise kept as upstream wrote it so a person can judge it.
/// </summary>
/// <param name="Expression">The normalised SPDX expression, or null when the declaration cannot be made into one.</param>
/// <param name="Source">
/// Where it was read: "License-Expression", "License", "classifiers" (PyPI core metadata), "cardData.license" (Hugging
/// Face card), or "none" when nothing was declared. When nothing could be read, the highest-precedence field that was declared.
/// </param>
/// <param name="Raw">What upstream said there, trimmed and capped at <see cref="Licence.RawLimit"/> characters.</param>
public sealed record LicenceFinding(string? Expression, string Source, string Raw);
