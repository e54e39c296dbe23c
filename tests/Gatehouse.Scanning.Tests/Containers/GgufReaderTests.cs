using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// GGUF metadata walk and chat-template sandbox escapes (a Jinja2 chat template rendered without a sandbox ran code in
/// llama-cpp-python, CVE-2024-34359); an ordinary template is corpus case B12.
/// </summary>
public sealed class GgufReaderTests
{
    private const string ChatMlTemplate =
        "{% set ns = namespace(found=false) %}{{ bos_token }}{% for message in messages %}"
        + "{% if message['role'] == 'system' %}{% set ns.found = true %}{% endif %}"
        + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}"
        + "{% if loop.last and message['role'] != 'assistant' and not add_generation_prompt %}{{ raise_exception('last message must be from the assistant') }}{% endif %}"
        + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static readonly (string, GgufValue)[] Vocabulary =
    [
        ("general.architecture", GgufValue.Of("llama")),
        ("llama.context_length", GgufValue.Of(4096u)),
        ("tokenizer.ggml.tokens", new GgufStringArray(["<s>", "</s>", "hello", "world"])),
        ("test.nested", new GgufNestedArray([[1, 2], [3]])),
    ];

    [Fact]
    public async Task B12_an_ordinary_chat_template_is_safe()
    {
        var report = await ScanAsync(Gguf([.. Vocabulary, ("tokenizer.chat_template", GgufValue.Of(ChatMlTemplate))]), "model.gguf");

        Assert.Equal("gguf", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Theory]
    [InlineData("{{ ''.__class__.__mro__[1].__subclasses__() }}")]
    [InlineData("{{ self.__init__.__globals__.__builtins__ }}")]
    [InlineData("{{ cycler.__init__.__globals__.os.popen('id').read() }}")]
    [InlineData("{{ joiner.__init__.__globals__ }}")]
    [InlineData("{{ namespace.__init__.__globals__.os.system('id') }}")]
    [InlineData("{{ lipsum.__globals__['os'].popen('id').read() }}")]
    [InlineData("{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}")]
    [InlineData("{{ messages|attr('__cl' ~ 'ass__') }}")]
    [InlineData("{{ request.application }}")]
    [InlineData("{{ config.items() }}")]
    [InlineData("{{ x | attr ( 'y' ) }}")]
    public async Task A_sandbox_escape_in_the_chat_template_is_dangerous(string template)
    {
        var report = await ScanAsync(Gguf([.. Vocabulary, ("tokenizer.chat_template", GgufValue.Of(template))]), "model.gguf");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.All(report.Findings, f => Assert.Equal("gguf.chat-template-injection", f.Rule));
    }

    [Fact]
    public async Task Named_templates_are_checked_too()
    {
        var report = await ScanAsync(Gguf(("tokenizer.chat_template", GgufValue.Of(ChatMlTemplate)),
            ("tokenizer.chat_template.tool_use", GgufValue.Of("{{ lipsum.__globals__ }}"))), "model.gguf");

        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Message.Contains("tool_use"));
    }

    [Fact]
    public async Task Version_2_and_big_endian_files_are_read()
    {
        var v2 = await ScanAsync(TestContent.Gguf(2, bigEndian: false, ("tokenizer.chat_template", GgufValue.Of("{{ __import__('os') }}"))), "v2.gguf");
        var bigEndian = await ScanAsync(TestContent.Gguf(3, bigEndian: true, [.. Vocabulary, ("tokenizer.chat_template", GgufValue.Of("{{ lipsum }}"))]), "be.gguf");

        Assert.Equal(ScanLevel.Dangerous, v2.Verdict);
        Assert.Equal(ScanLevel.Dangerous, bigEndian.Verdict);
    }

    [Fact]
    public async Task A_string_claiming_2_pow_60_bytes_is_invalid_and_never_allocated()
    {
        var claim = BitConverter.GetBytes(1UL << 60);

        var report = await ScanAsync(Gguf(("general.name", new GgufRaw(8, claim))), "model.gguf");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
    }

    [Fact]
    public async Task An_array_claiming_more_elements_than_the_file_holds_is_invalid()
    {
        byte[] claim = [.. BitConverter.GetBytes(8u), .. BitConverter.GetBytes(1UL << 40)];

        var report = await ScanAsync(Gguf(("tokenizer.ggml.tokens", new GgufRaw(9, claim))), "model.gguf");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
    }

    [Fact]
    public async Task An_unknown_value_type_or_version_is_invalid()
    {
        var badType = await ScanAsync(Gguf(("x", new GgufRaw(13, [0, 0, 0, 0]))), "model.gguf");
        var badVersion = await ScanAsync(TestContent.Gguf(7, bigEndian: false), "model.gguf");

        Assert.Equal(ScanLevel.Invalid, badType.Verdict);
        Assert.Equal(ScanLevel.Invalid, badVersion.Verdict);
    }
}
