import SignalboxJSON
import SignalboxSQL

/// The messages of a gateway batch body: a JSON array of message objects, or JSON Lines (one message
/// object per line).
///
/// A message object is `{"topic": "…", "payload": <any JSON>}` or `{"topic": "…", "payload_base64": "…"}`.
/// A `payload` member's payload is its exact source bytes — sliced from the body, never re-serialized —
/// and every member is validated (strict JSON, UTF-8) on the way, without building values.
///
/// For example:
/// ```swift
/// let body = Array(#"[{"topic": "gateways/gw/t", "payload": {"temp": 21.5}}]"#.utf8)
/// let batch = MessageBatch.parse(body, format: .array, maxMessages: 1000)
/// batch.messages[0].payload   // the bytes of {"temp": 21.5}
/// batch.failure               // nil
/// ```
package struct MessageBatch: Sendable {
    /// How the body is laid out.
    package enum Format: Sendable, Hashable {
        /// One JSON array of message objects.
        case array
        /// JSON Lines: one message object per line; blank lines are skipped.
        case lines

        /// The format a `Content-Type` names: JSON Lines for `application/x-ndjson`,
        /// `application/jsonl` and `application/json-lines`, a JSON array otherwise.
        package init(contentType: String?) {
            let mediaType = (contentType ?? "").split(separator: ";").first ?? ""
            switch mediaType.lowercased().filter({ !$0.isWhitespace }) {
            case "application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines":
                self = .lines
            default: self = .array
            }
        }
    }

    /// One message of the batch.
    package struct Item: Sendable, Hashable {
        /// The topic, not yet validated as a topic name.
        package var topic: String
        /// The payload bytes.
        package var payload: [UInt8]
    }

    /// What is wrong with a batch.
    package struct Failure: Error, Sendable, Hashable {
        /// The index of the first bad message; nil when the body as a whole is bad.
        package var index: Int?
        /// What is wrong, naming no payload value.
        package var message: String
        /// Whether a limit was exceeded (413) rather than the body being malformed (400).
        package var isLimit: Bool

        init(index: Int?, _ message: String, isLimit: Bool = false) {
            self.index = index
            self.message = message
            self.isLimit = isLimit
        }
    }

    /// The messages before the first bad one (all of them when ``failure`` is nil).
    package var messages: [Item]
    /// The first problem found; parsing stops there.
    package var failure: Failure?

    /// Parses `body`; at most `maxMessages` messages and `maxPayloadBytes` bytes of payload each.
    package static func parse(
        _ body: [UInt8], format: Format, maxMessages: Int, maxPayloadBytes: Int = .max
    ) -> MessageBatch {
        body.withUnsafeBufferPointer { buffer in
            var parser = Parser(body: buffer, maxMessages: maxMessages, maxPayloadBytes: maxPayloadBytes)
            switch format {
            case .array: parser.parseArray()
            case .lines: parser.parseLines()
            }
            return MessageBatch(messages: parser.messages, failure: parser.failure)
        }
    }

    /// Parses `body` as one message object, which may also have the members in `ignoring` (read by
    /// the caller); failures name it "the request".
    package static func parseOne(
        _ body: [UInt8], ignoring: Set<String> = [], maxPayloadBytes: Int = .max
    ) -> Result<Item, Failure> {
        body.withUnsafeBufferPointer { buffer in
            var parser = Parser(body: buffer, maxMessages: 1, maxPayloadBytes: maxPayloadBytes)
            let start = parser.skipWhitespace(from: 0)
            guard start < buffer.count, buffer[start] == UInt8(ascii: "{") else {
                return .failure(Failure(index: nil, "The request must be a JSON object"))
            }
            guard parser.addMessage(index: 0, start: start, end: buffer.count, name: "the request", ignoring: ignoring),
                let item = parser.messages.first
            else {
                return .failure(parser.failure ?? Failure(index: nil, "The request is not a message"))
            }
            return .success(item)
        }
    }
}

extension MessageBatch {
    /// The parser over the body's bytes; stops at the first failure.
    struct Parser {
        let body: UnsafeBufferPointer<UInt8>
        let maxMessages: Int
        let maxPayloadBytes: Int
        var messages: [Item] = []
        var failure: Failure?

        init(body: UnsafeBufferPointer<UInt8>, maxMessages: Int, maxPayloadBytes: Int) {
            self.body = body
            self.maxMessages = maxMessages
            self.maxPayloadBytes = maxPayloadBytes
            messages.reserveCapacity(min(maxMessages, body.count / 24 + 1))
        }

        static let arrayExpected =
            "The body must be a JSON array of messages, or JSON Lines with Content-Type: application/x-ndjson"

        mutating func parseArray() {
            var position = skipWhitespace(from: 0)
            guard position < body.count, body[position] == UInt8(ascii: "[") else {
                failure = Failure(index: nil, Self.arrayExpected)
                return
            }
            position = skipWhitespace(from: position + 1)
            if position < body.count && body[position] == UInt8(ascii: "]") {
                finishArray(after: position + 1)
                return
            }
            while true {
                let index = messages.count
                guard position < body.count else {
                    failure = Failure(index: nil, "The JSON array is not closed")
                    return
                }
                guard body[position] == UInt8(ascii: "{") else {
                    failure = Failure(index: index, "message \(index) must be a JSON object")
                    return
                }
                guard let end = Self.containerEnd(body, from: position) else {
                    failure = invalidJSON(index: index, start: position, end: body.count)
                    return
                }
                guard addMessage(index: index, start: position, end: end) else { return }
                position = skipWhitespace(from: end)
                guard position < body.count else {
                    failure = Failure(index: nil, "The JSON array is not closed")
                    return
                }
                if body[position] == UInt8(ascii: "]") {
                    finishArray(after: position + 1)
                    return
                }
                guard body[position] == UInt8(ascii: ",") else {
                    failure = Failure(
                        index: nil, "Expected ',' or ']' after message \(index) (\(location(of: position)))")
                    return
                }
                position = skipWhitespace(from: position + 1)
            }
        }

        mutating func finishArray(after position: Int) {
            let rest = skipWhitespace(from: position)
            if rest != body.count {
                failure = Failure(index: nil, "Unexpected data after the JSON array (\(location(of: rest)))")
            }
        }

        mutating func parseLines() {
            var lineStart = 0
            var line = 1
            while lineStart < body.count {
                var lineEnd = lineStart
                while lineEnd < body.count && body[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let start = skipWhitespace(from: lineStart, to: lineEnd)
                if start < lineEnd {
                    let index = messages.count
                    guard body[start] == UInt8(ascii: "{") else {
                        failure = Failure(index: index, "message \(index) (line \(line)) must be a JSON object")
                        return
                    }
                    guard addMessage(index: index, start: start, end: lineEnd, line: line) else { return }
                }
                lineStart = lineEnd + 1
                line += 1
            }
        }

        /// Validates the message object in `start..<end` (surrounding white space allowed) and adds it;
        /// false after recording a failure.
        mutating func addMessage(
            index: Int, start: Int, end: Int, line: Int? = nil, name: String? = nil, ignoring: Set<String> = []
        ) -> Bool {
            let name = name ?? line.map { "message \(index) (line \($0))" } ?? "message \(index)"
            guard index < maxMessages else {
                failure = Failure(
                    index: index, "The batch has more than \(maxMessages) messages, the most allowed", isLimit: true)
                return false
            }
            let element = UnsafeBufferPointer(rebasing: body[start..<end])
            guard let layout = JSONLayout.scan(element), layout.isObject else {
                failure = invalidJSON(index: index, start: start, end: end, name: name)
                return false
            }
            var topic: String?
            var payload: [UInt8]?
            var sawPayload = false
            for member in layout.members {
                let valueStart = Int(member.valueStart)
                let valueEnd = Int(member.valueEnd)
                switch key(of: member, in: element) {
                case "topic":
                    guard topic == nil else { return fail(index, "\(name) has 'topic' twice") }
                    guard case .string(let text)? = string(valueStart, valueEnd, in: element) else {
                        return fail(index, "\(name): 'topic' must be a string")
                    }
                    topic = text
                case "payload":
                    guard !sawPayload else { return fail(index, "\(name) has both 'payload' and 'payload_base64'") }
                    sawPayload = true
                    payload = Array(UnsafeBufferPointer(rebasing: element[valueStart..<valueEnd]))
                case "payload_base64":
                    guard !sawPayload else { return fail(index, "\(name) has both 'payload' and 'payload_base64'") }
                    sawPayload = true
                    guard case .string(let text)? = string(valueStart, valueEnd, in: element) else {
                        return fail(index, "\(name): 'payload_base64' must be a string")
                    }
                    guard let bytes = Base64.decode(text) else {
                        return fail(index, "\(name): 'payload_base64' is not valid base64")
                    }
                    payload = bytes
                case let other where ignoring.contains(other):
                    continue
                case let other:
                    let shown = other.count > 40 ? String(other.prefix(40)) + "…" : other
                    return fail(
                        index,
                        "\(name) has an unknown member '\(shown)'; a message has 'topic' and 'payload' or "
                            + "'payload_base64'")
                }
            }
            guard let topic else { return fail(index, "\(name) has no 'topic'") }
            guard let payload else { return fail(index, "\(name) has neither 'payload' nor 'payload_base64'") }
            guard payload.count <= maxPayloadBytes else {
                failure = Failure(
                    index: index, "\(name): the payload exceeds the maximum size allowed (\(maxPayloadBytes) bytes)",
                    isLimit: true)
                return false
            }
            messages.append(Item(topic: topic, payload: payload))
            return true
        }

        mutating func fail(_ index: Int, _ message: String) -> Bool {
            failure = Failure(index: index, message)
            return false
        }

        /// A member's key (escapes decoded only when it has some).
        func key(of member: JSONLayout.Member, in element: UnsafeBufferPointer<UInt8>) -> String {
            let start = Int(member.keyStart)
            let end = Int(member.keyEnd)
            if !member.keyHasEscapes {
                return String(decoding: UnsafeBufferPointer(rebasing: element[start..<end]), as: UTF8.self)
            }
            // The quotes around the key are part of the document, so the slice is one JSON string.
            return string(start - 1, end + 1, in: element)?.stringValue ?? ""
        }

        /// The value in `start..<end` when it is a string, decoded without the parser when it has no
        /// escapes; nil when it is no string. (The bytes were validated, UTF-8 included, by the scan.)
        func string(_ start: Int, _ end: Int, in element: UnsafeBufferPointer<UInt8>) -> Value? {
            guard end - start >= 2, element[start] == UInt8(ascii: "\"") else { return nil }
            let inner = UnsafeBufferPointer(rebasing: element[(start + 1)..<(end - 1)])
            if !inner.contains(UInt8(ascii: "\\")) { return .string(String(decoding: inner, as: UTF8.self)) }
            return try? JSONParser.parse(UnsafeBufferPointer(rebasing: element[start..<end]))
        }

        /// The failure for message `index` in `start..<end` not being one valid JSON object, with the
        /// parser's content-free explanation and its place in the body.
        func invalidJSON(index: Int, start: Int, end: Int, name: String? = nil) -> Failure {
            let name = name ?? "message \(index)"
            let element = UnsafeBufferPointer(rebasing: body[start..<end])
            switch JSONParser.parse(buffer: element) {
            case .failure(let error):
                return Failure(
                    index: index, "\(name) is not valid JSON (\(location(of: start + error.offset))): \(error.message)")
            case .success:
                return Failure(index: index, "\(name) must be a JSON object")
            }
        }

        /// `line L, column C` of a byte offset of the body.
        func location(of offset: Int) -> String {
            var line = 1
            var lineStart = 0
            for i in 0..<min(offset, body.count) where body[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            return "line \(line), column \(offset - lineStart + 1)"
        }

        func skipWhitespace(from position: Int, to end: Int? = nil) -> Int {
            let end = end ?? body.count
            var position = position
            while position < end {
                switch body[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return position
                }
            }
            return position
        }

        /// The offset just past the object or array opening at `start`, found by counting brackets
        /// outside strings; nil when it is not closed. Validation is the layout scan's job.
        static func containerEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var depth = 0
            var i = start
            let count = bytes.count
            while i < count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    while i < count {
                        let byte = bytes[i]
                        if byte == UInt8(ascii: "\"") { break }
                        i += byte == UInt8(ascii: "\\") ? 2 : 1
                    }
                    if i >= count { return nil }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        }
    }
}

extension Value {
    /// The string, when this is one.
    fileprivate var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
