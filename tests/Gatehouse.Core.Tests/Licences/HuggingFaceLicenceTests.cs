using Gatehouse.Licences;

namespace Gatehouse.Core.Tests.Licences;

/// <summary>
/// Hugging Face card licences (<c>cardData.license</c>, <c>license_name</c>) as repositories publish them, read against the
/// Hub's licence list (https://huggingface.co/docs/hub/repositories-licenses) and judged by the sample policy.
/// </summary>
public sealed class HuggingFaceLicenceTests
{
    [Theory]
    [InlineData("google-bert/bert-base-uncased", "apache-2.0", null, "Apache-2.0", "cardData.license", LicenceVerdict.Allowed)]
    [InlineData("microsoft/phi-2", "mit", null, "MIT", "cardData.license", LicenceVerdict.Allowed)]
    [InlineData("deepseek-ai/DeepSeek-V3", "other", "deepseek", "LicenseRef-deepseek", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("Qwen/Qwen-7B", "other", "tongyi-qianwen", "LicenseRef-tongyi-qianwen", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("nvidia model", "other", "NVIDIA Open Model License", "LicenseRef-NVIDIA-Open-Model-License", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("other without a name", "other", null, null, "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("meta-llama/Meta-Llama-3-8B", "llama3", null, "LicenseRef-HF-llama3", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("meta-llama/Llama-3.1-8B", "llama3.1", null, "LicenseRef-HF-llama3.1", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("meta-llama/Llama-2-7b-hf", "llama2", null, "LicenseRef-HF-llama2", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("stabilityai/stable-diffusion-xl-base-1.0", "openrail++", null, "LicenseRef-HF-openrail-plus-plus", "cardData.license",
        LicenceVerdict.Unknown)]
    [InlineData("openrail family", "openrail", null, "LicenseRef-HF-openrail", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("runwayml/stable-diffusion-v1-5", "creativeml-openrail-m", null, "LicenseRef-HF-creativeml-openrail-m", "cardData.license",
        LicenceVerdict.Unknown)]
    [InlineData("facebook/nllb-200-distilled-600M", "cc-by-nc-4.0", null, "CC-BY-NC-4.0", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("google/gemma-2b", "gemma", null, "LicenseRef-HF-gemma", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("GPL v3 model", "gpl-3.0", null, "GPL-3.0-only", "cardData.license", LicenceVerdict.Denied)]
    [InlineData("AGPL v3 model", "agpl-3.0", null, "AGPL-3.0-only", "cardData.license", LicenceVerdict.Denied)]
    [InlineData("GPL family", "gpl", null, "LicenseRef-HF-gpl", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("BSD family", "bsd", null, "LicenseRef-HF-bsd", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("bsd-3-clause", "bsd-3-clause", null, "BSD-3-Clause", "cardData.license", LicenceVerdict.Allowed)]
    [InlineData("cc-by-4.0", "cc-by-4.0", null, "CC-BY-4.0", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("lgpl-lr", "lgpl-lr", null, "LGPLLR", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("c-uda", "c-uda", null, "C-UDA-1.0", "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("older card, SPDX spelling", "Apache-2.0", null, "Apache-2.0", "cardData.license", LicenceVerdict.Allowed)]
    [InlineData("older card, free text", "Apache License 2.0", null, "Apache-2.0", "cardData.license", LicenceVerdict.Allowed)]
    [InlineData("unknown", "unknown", null, null, "cardData.license", LicenceVerdict.Unknown)]
    [InlineData("no card licence", null, null, null, "none", LicenceVerdict.Unknown)]
    [InlineData("blank card licence", "  ", null, null, "none", LicenceVerdict.Unknown)]
    public void Card_licences_read_into_spdx_and_judged_by_a_sample_policy(
        string repo, string? cardLicense, string? licenseName, string? expected, string source, LicenceVerdict verdict)
    {
        var finding = Licence.FromHuggingFace(cardLicense, licenseName);
        Assert.True(expected == finding.Expression, $"{repo}: expected {expected ?? "(none)"}, got {finding.Expression ?? "(none)"}");
        Assert.Equal(source, finding.Source);
        if (finding.Expression is not null)
        {
            Assert.True(LicenceExpression.TryParse(finding.Expression, out var expression, out var error), $"{repo}: {error}");
            Assert.Equal(verdict, expression.Evaluate(LicenceExpressionTests.SamplePolicy));
        }
        else
        {
            Assert.Equal(LicenceVerdict.Unknown, verdict);
        }
    }

    [Theory]
    [InlineData("openrail++", "openrail-plus-plus")]
    [InlineData("NVIDIA Open Model License", "NVIDIA-Open-Model-License")]
    [InlineData("  a / b__c  ", "a-b-c")]
    [InlineData("llama3.1", "llama3.1")]
    [InlineData("模型许可", "unnamed")]
    [InlineData("---", "unnamed")]
    public void Names_are_brought_into_the_spdx_idstring_charset(string name, string idString) =>
        Assert.Equal(idString, HuggingFaceLicences.IdString(name));

    [Fact]
    public void Raw_keeps_the_card_value_and_the_licence_name()
    {
        Assert.Equal("other (deepseek)", Licence.FromHuggingFace("other", "deepseek").Raw);
        Assert.Equal("apache-2.0", Licence.FromHuggingFace(" apache-2.0 ", null).Raw);
    }
}
