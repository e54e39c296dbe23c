namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// The 68 opcodes of pickle protocols 0–5 (<c>pickletools.opcodes</c> in CPython's <c>Lib/pickletools.py</c>, the
/// format's de-facto specification).
/// </summary>
internal static class PickleOpcodes
{
    public const int HighestProtocol = 5;

    public const byte MARK = (byte)'(';
    public const byte STOP = (byte)'.';
    public const byte POP = (byte)'0';
    public const byte POP_MARK = (byte)'1';
    public const byte DUP = (byte)'2';
    public const byte FLOAT = (byte)'F';
    public const byte INT = (byte)'I';
    public const byte BININT = (byte)'J';
    public const byte BININT1 = (byte)'K';
    public const byte LONG = (byte)'L';
    public const byte BININT2 = (byte)'M';
    public const byte NONE = (byte)'N';
    public const byte PERSID = (byte)'P';
    public const byte BINPERSID = (byte)'Q';
    public const byte REDUCE = (byte)'R';
    public const byte STRING = (byte)'S';
    public const byte BINSTRING = (byte)'T';
    public const byte SHORT_BINSTRING = (byte)'U';
    public const byte UNICODE = (byte)'V';
    public const byte BINUNICODE = (byte)'X';
    public const byte APPEND = (byte)'a';
    public const byte BUILD = (byte)'b';
    public const byte GLOBAL = (byte)'c';
    public const byte DICT = (byte)'d';
    public const byte EMPTY_DICT = (byte)'}';
    public const byte APPENDS = (byte)'e';
    public const byte GET = (byte)'g';
    public const byte BINGET = (byte)'h';
    public const byte INST = (byte)'i';
    public const byte LONG_BINGET = (byte)'j';
    public const byte LIST = (byte)'l';
    public const byte EMPTY_LIST = (byte)']';
    public const byte OBJ = (byte)'o';
    public const byte PUT = (byte)'p';
    public const byte BINPUT = (byte)'q';
    public const byte LONG_BINPUT = (byte)'r';
    public const byte SETITEM = (byte)'s';
    public const byte TUPLE = (byte)'t';
    public const byte EMPTY_TUPLE = (byte)')';
    public const byte SETITEMS = (byte)'u';
    public const byte BINFLOAT = (byte)'G';
    public const byte BINBYTES = (byte)'B';
    public const byte SHORT_BINBYTES = (byte)'C';
    public const byte PROTO = 0x80;
    public const byte NEWOBJ = 0x81;
    public const byte EXT1 = 0x82;
    public const byte EXT2 = 0x83;
    public const byte EXT4 = 0x84;
    public const byte TUPLE1 = 0x85;
    public const byte TUPLE2 = 0x86;
    public const byte TUPLE3 = 0x87;
    public const byte NEWTRUE = 0x88;
    public const byte NEWFALSE = 0x89;
    public const byte LONG1 = 0x8A;
    public const byte LONG4 = 0x8B;
    public const byte SHORT_BINUNICODE = 0x8C;
    public const byte BINUNICODE8 = 0x8D;
    public const byte BINBYTES8 = 0x8E;
    public const byte EMPTY_SET = 0x8F;
    public const byte ADDITEMS = 0x90;
    public const byte FROZENSET = 0x91;
    public const byte NEWOBJ_EX = 0x92;
    public const byte STACK_GLOBAL = 0x93;
    public const byte MEMOIZE = 0x94;
    public const byte FRAME = 0x95;
    public const byte BYTEARRAY8 = 0x96;
    public const byte NEXT_BUFFER = 0x97;
    public const byte READONLY_BUFFER = 0x98;

    private static readonly string?[] Names = BuildNames();

    public static bool IsOpcode(byte b) => Names[b] is not null;

    public static string Name(int op) => op is >= 0 and < 256 && Names[op] is { } name ? name : $"0x{op:x2}";

    private static string?[] BuildNames()
    {
        var names = new string?[256];
        foreach (var field in typeof(PickleOpcodes).GetFields())
        {
            if (field.FieldType == typeof(byte) && field.IsLiteral)
            {
                names[(byte)field.GetRawConstantValue()!] = field.Name;
            }
        }
        return names;
    }
}
