using Google.Protobuf;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Walks a protobuf message field by field with Google.Protobuf's <see cref="CodedInputStream"/> (tags, varints, wire
/// types, groups), entering only the messages a reader asks for, with the bounds protobuf's own parsers apply: no length
/// may run past its message, messages nest at most <see cref="MaxDepth"/> deep, and text is decoded only up to a cap. A
/// field the reader does not take (unknown, or a known number with another wire type) is skipped, as protobuf keeps it as
/// an unknown field; field number 0, wire type 6 or 7, or an unmatched end-group fails the parse, as in protobuf.
/// </summary>
internal sealed class ProtoWire(byte[] message)
{
    /// <summary>
    /// protobuf's default recursion limit (C++ <c>io::CodedInputStream</c> and upb, which TensorFlow's C++ and Python
    /// loaders use): content nested deeper does not parse.
    /// </summary>
    public const int MaxDepth = 100;

    /// <summary>Reads one field the walk stopped at; returns false to have it skipped.</summary>
    public delegate bool FieldReader(int field, WireFormat.WireType wire);

    private CodedInputStream? _input;
    private int _payloadStart;
    private int _payloadLength;
    private int _depth;

    /// <summary>Where the field being read starts its value (an offset into the message), for reports.</summary>
    public long Position { get; private set; }

    /// <summary>Reads every field of the outermost message with <paramref name="read"/>.</summary>
    public void ReadFields(FieldReader read) => ReadFields(0, message.Length, read);

    /// <summary>Enters the length-delimited field the walk stopped at as a message and reads its fields.</summary>
    public void ReadMessage(FieldReader read)
    {
        if (_depth >= MaxDepth)
        {
            throw new InvalidDataException($"Messages nest deeper than {MaxDepth} at offset {_payloadStart}, protobuf's recursion limit.");
        }
        _depth++;
        ReadFields(_payloadStart, _payloadStart + _payloadLength, read);
        _depth--;
    }

    /// <summary>The varint field the walk stopped at.</summary>
    public ulong ReadVarint() => _input!.ReadUInt64();

    /// <summary>The length-delimited field as text (invalid UTF-8 replaced), or null when it is longer than <paramref name="maxBytes"/>.</summary>
    public string? ReadText(int maxBytes) =>
        _payloadLength <= maxBytes ? System.Text.Encoding.UTF8.GetString(message, _payloadStart, _payloadLength) : null;

    private void ReadFields(int start, int end, FieldReader read)
    {
        var next = start;
        while (next < end)
        {
            var input = new CodedInputStream(message, next, end - next);
            var origin = input.Position;
            var tag = input.ReadTag();
            var field = WireFormat.GetTagFieldNumber(tag);
            var wire = WireFormat.GetTagWireType(tag);
            if ((int)wire > (int)WireFormat.WireType.Fixed32)
            {
                // CodedInputStream.SkipLastField passes over wire types 6 and 7 silently; protobuf's parsers reject them.
                throw new InvalidDataException($"Field {field} at offset {next} has wire type {(int)wire}, which protobuf does not define.");
            }
            _input = input;
            if (wire == WireFormat.WireType.LengthDelimited)
            {
                var length = input.ReadLength();
                var payload = next + (int)(input.Position - origin);
                // A length varint past 2^31 reads as a negative int: as protobuf's parsers, that is no message.
                if (length < 0 || length > end - payload)
                {
                    throw new InvalidDataException($"Field {field} at offset {next} claims {length:N0} bytes, past the end of its message at {end}.");
                }
                (_payloadStart, _payloadLength) = (payload, length);
                Position = payload;
                read(field, wire);
                next = payload + length;
                continue;
            }
            Position = next + (input.Position - origin);
            if (!read(field, wire))
            {
                input.SkipLastField();
            }
            next += (int)(input.Position - origin);
        }
    }
}
