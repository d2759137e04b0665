import Logging

/// Escapes text that came from outside (topics, names, ids, client ids, user agents) so that it can
/// neither forge log lines nor drive a terminal: control characters, line and paragraph separators,
/// invisible and bidirectional formatting characters and backslashes are written as escapes.
///
/// For example:
/// ```swift
/// LogText.escaped("a\nb")        // "a\\nb"
/// LogText.escaped("\u{1B}[31m")  // "\\x1B[31m"
/// ```
package enum LogText {
    /// `text` with every character that could break a log line escaped; text without any is
    /// returned as is.
    package static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                if scalar.value <= 0xFF {
                    result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    result += "\\u{" + hex + "}"
                }
            }
        }
        return result
    }

    /// `text` escaped, and in double quotes (with `"` escaped) when it holds a space, `=` or `"`:
    /// a metadata value, which cannot then pass for another `key=value` field of the line.
    package static func field(_ text: String) -> String {
        let escaped = escaped(text)
        guard escaped.utf8.contains(where: { $0 == 0x20 || $0 == 0x3D || $0 == 0x22 }) else { return escaped }
        return "\"" + escaped.replacing("\"", with: "\\\"") + "\""
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        // Invisible and direction-changing characters, which can make a line read as another.
        case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: true
        case 0x5C: true  // backslash, so that an escape in the input cannot pass for one of ours
        default: false
        }
    }
}

/// A log handler that escapes the message and every metadata value (see ``LogText``) before handing
/// them to `base`, so that values from outside cannot write forged lines or terminal escapes. The
/// executable wraps its handler in it.
///
/// For example:
/// ```swift
/// LoggingSystem.bootstrap { label in EscapingLogHandler(StreamLogHandler.standardError(label: label)) }
/// ```
package struct EscapingLogHandler<Base: LogHandler>: LogHandler {
    /// The handler that writes the escaped records.
    package var base: Base

    /// Wraps `base`.
    package init(_ base: Base) { self.base = base }

    package var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    package var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue.mapValues(Self.escaped) }
    }

    package var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue.map(Self.escaped) }
    }

    package func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: LogText.escaped(event.message.description))
        if let metadata = event.metadata { event.metadata = metadata.mapValues(Self.escaped) }
        base.log(event: event)
    }

    /// `value` with every string in it escaped.
    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(LogText.field(text))
        case .stringConvertible(let convertible): .string(LogText.field(convertible.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(values.mapValues(escaped))
        }
    }
}
