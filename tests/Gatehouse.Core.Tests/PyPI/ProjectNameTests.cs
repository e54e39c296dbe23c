using Gatehouse.PyPI;

namespace Gatehouse.Core.Tests.PyPI;

public class ProjectNameTests
{
    [Theory]
    [InlineData("Foo.Bar_baz", "foo-bar-baz")]
    [InlineData("requests", "requests")]
    [InlineData("Django", "django")]
    [InlineData("zope.interface", "zope-interface")]
    [InlineData("a__b..c--d", "a-b-c-d")]
    [InlineData("A-._B", "a-b")]
    public void Normalization_lowercases_and_collapses_every_run_of_separators_into_one_dash(string name, string expected)
    {
        Assert.Equal(expected, ProjectName.Normalize(name));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("Foo.Bar_baz")]
    [InlineData("requests")]
    [InlineData("x1")]
    [InlineData("typing-extensions")]
    public void Ordinary_project_names_are_valid(string name)
    {
        Assert.True(ProjectName.IsValid(name));
    }

    [Theory]
    [InlineData("requests\n")]
    [InlineData("requests\r\n")]
    [InlineData("-requests")]
    [InlineData("requests-")]
    [InlineData(".requests")]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a b")]
    [InlineData("a%2fb")]
    [InlineData("a\0b")]
    [InlineData(null)]
    public void Missing_names_and_names_with_trailing_newlines_edge_separators_or_path_characters_are_invalid(string? name)
    {
        Assert.False(ProjectName.IsValid(name));
    }

    [Fact]
    public void A_name_longer_than_200_characters_is_invalid()
    {
        Assert.True(ProjectName.IsValid(new string('a', 200)));
        Assert.False(ProjectName.IsValid(new string('a', 201)));
    }

    [Theory]
    [InlineData("\u212Aeras")] // KELVIN SIGN, lower-cases to an ASCII k
    [InlineData("\u017Fix")] // LATIN SMALL LETTER LONG S, upper-cases to an ASCII S
    [InlineData("caf\u00E9")]
    public void Names_with_non_ASCII_letters_are_invalid_even_when_they_case_fold_to_ASCII(string name)
    {
        // Package names are ASCII letters, digits and separators only (PEP 508); a look-alike must not pass.
        Assert.False(ProjectName.IsValid(name));
    }
}

public class DistributionFileTests
{
    [Theory]
    [InlineData("requests-2.32.3-py3-none-any.whl")]
    [InlineData("requests-2.32.3.tar.gz")]
    [InlineData("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")]
    [InlineData("pytz-2024.1.zip")]
    [InlineData("foo-1.0+local.1-py3-none-any.whl")]
    [InlineData("Foo_Bar-1.0.tar.bz2")]
    [InlineData("foo-1.0.tgz")]
    public void Ordinary_wheel_and_sdist_file_names_are_valid(string filename)
    {
        Assert.True(DistributionFile.IsValid(filename));
    }

    [Theory]
    [InlineData("../requests-2.32.3.tar.gz")]
    [InlineData("sub/requests-2.32.3.tar.gz")]
    [InlineData("sub\\requests-2.32.3.tar.gz")]
    [InlineData("requests-2.32.3.tar.gz#sha256=abc")]
    [InlineData("requests-2.32.3.tar.gz?x=1")]
    [InlineData("requests#-2.32.3.tar.gz")]
    [InlineData("requests?-2.32.3.tar.gz")]
    [InlineData("requests 2.32.3.tar.gz")]
    [InlineData("requests-2.32.3.tar.gz\n")]
    [InlineData(".requests-2.32.3.tar.gz")]
    [InlineData("requests-2.32.3.exe")]
    [InlineData("requests-2.32.3")]
    [InlineData("")]
    [InlineData(null)]
    public void Missing_file_names_and_names_with_separators_url_specials_or_unknown_suffixes_are_invalid(string? filename)
    {
        Assert.False(DistributionFile.IsValid(filename));
    }

    [Fact]
    public void A_sha256_is_64_lower_case_hex_digits()
    {
        var sha = new string('a', 32) + "0123456789abcdef0123456789abcdef";
        Assert.True(DistributionFile.IsSha256(sha));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n")]
    [InlineData(null)]
    public void Anything_else_is_not_a_sha256(string? value)
    {
        Assert.False(DistributionFile.IsSha256(value));
    }

    [Theory]
    [InlineData("requests-2.32.3-py3-none-any.whl", "requests", "2.32.3")]
    [InlineData("foo_bar-1.0-1-py3-none-any.whl", "foo-bar", "1.0")]
    [InlineData("requests-2.32.3.tar.gz", "requests", "2.32.3")]
    [InlineData("pytz-2024.1.zip", "pytz", "2024.1")]
    [InlineData("foo_bar-0.1a1.tar.bz2", "foo-bar", "0.1a1")]
    [InlineData("Foo.Bar-3.0.tgz", "foo-bar", "3.0")]
    [InlineData("Foo-Bar-Baz-1.2.3.tar.gz", "foo-bar-baz", "1.2.3")] // an old sdist whose name has dashes: the version follows the whole project name
    public void The_version_comes_from_the_file_name(string filename, string project, string version)
    {
        Assert.Equal(version, DistributionFile.Version(filename, project));
    }

    [Theory]
    [InlineData("other-1.0.tar.gz", "requests")] // an sdist of another project
    [InlineData("requests-2.32.3.whl", "requests")] // a wheel name without tags
    public void A_file_name_that_does_not_carry_the_projects_version_has_none(string filename, string project)
    {
        Assert.Null(DistributionFile.Version(filename, project));
    }

    [Theory]
    [InlineData("x-1-py3-none-any.whl", true)]
    [InlineData("x-1-py3-none-any.WHL", true)]
    [InlineData("x-1.tar.gz", false)]
    public void A_wheel_is_told_by_its_suffix(string filename, bool wheel)
    {
        Assert.Equal(wheel, DistributionFile.IsWheel(filename));
    }
}
