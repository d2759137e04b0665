import NIOCore

/// Decodes MQTT packets from a connection; a malformed packet fails the channel with the
/// ``MQTTProtocolError`` that names the broken rule.
struct PacketDecoderHandler: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = Packet
    let decoder: PacketDecoder

    mutating func decode(buffer: inout ByteBuffer) throws -> Packet? {
        try decoder.next(from: &buffer)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Packet? {
        try decoder.next(from: &buffer)
    }
}

/// Encodes MQTT packets onto a connection.
struct PacketEncoderHandler: MessageToByteEncoder {
    typealias OutboundIn = Packet
    let encoder: PacketEncoder

    func encode(data: Packet, out: inout ByteBuffer) throws {
        try encoder.encode(data, into: &out)
    }
}
