using Gatehouse.Names;

namespace Gatehouse.Core.Tests.Names;

public class SlopsquatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ProjectHistory Established = new(Now.AddYears(-5), 40);
    private static readonly ProjectHistory Fresh = new(Now.AddDays(-3), 1);

    [Theory]
    [InlineData("requests-utils")]
    [InlineData("numpy-helpers")]
    [InlineData("numpy_helper")]
    [InlineData("huggingface-cli")]
    [InlineData("pandas-extended")]
    [InlineData("python-requests-wrapper")]
    [InlineData("py-numpy")]
    [InlineData("python-pandas")]
    [InlineData("boto3-sdk")]
    public void A_popular_name_or_stem_with_an_invented_suffix_or_prefix_has_the_hallucination_shape(string name)
    {
        Assert.Equal(
            [NameCheck.YoungSignal, NameCheck.FewReleasesSignal, NameCheck.NotPopularSignal, NameCheck.HallucinationShapeSignal],
            NameCheck.Slopsquat(name, Fresh, TopProjects.Bundled, Now));
    }

    [Theory]
    [InlineData("my-internal-lib")]
    [InlineData("acme-billing-service")]
    [InlineData("zz-utils")]
    public void An_unpopular_name_without_that_shape_is_only_unpopular(string name)
    {
        Assert.Equal([NameCheck.NotPopularSignal], NameCheck.Slopsquat(name, Established, TopProjects.Bundled, Now));
    }

    [Theory]
    [InlineData("requests")]
    [InlineData("huggingface-hub")]
    [InlineData("flask-login")]
    [InlineData("types-requests")]
    [InlineData("google-api-core")]
    public void A_name_on_the_top_list_is_neither_unpopular_nor_hallucinated(string name)
    {
        Assert.True(TopProjects.Bundled.Contains(name));
        Assert.Empty(NameCheck.Slopsquat(name, Established, TopProjects.Bundled, Now));
        Assert.Equal([NameCheck.YoungSignal, NameCheck.FewReleasesSignal], NameCheck.Slopsquat(name, Fresh, TopProjects.Bundled, Now));
    }

    [Theory]
    [InlineData(89, false, true)]
    [InlineData(90, false, false)]
    [InlineData(400, false, false)]
    [InlineData(0, true, true)]
    public void A_project_is_young_until_its_first_release_is_90_days_old(int days, bool noRelease, bool young)
    {
        var history = new ProjectHistory(noRelease ? null : Now.AddDays(-days), 10);
        Assert.Equal(young, NameCheck.Slopsquat("requests", history, TopProjects.Bundled, Now).Contains(NameCheck.YoungSignal));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void Fewer_than_three_releases_are_few(int releases, bool few)
    {
        var history = new ProjectHistory(Now.AddYears(-1), releases);
        Assert.Equal(few, NameCheck.Slopsquat("requests", history, TopProjects.Bundled, Now).Contains(NameCheck.FewReleasesSignal));
    }
}
