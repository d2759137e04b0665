import Logging
import SignalboxCore
import Synchronization
import Testing

@Suite struct LogTextTests {
    @Test(arguments: [
        ("plain/topic", "plain/topic"),
        ("a\nb", #"a\nb"#),
        ("a\r\nb", #"a\r\nb"#),
        ("tab\there", #"tab\there"#),
        ("\u{1B}[31mred", #"\x1B[31mred"#),
        ("nul\u{0}", #"nul\x00"#),
        ("del\u{7F}", #"del\x7F"#),
        ("c1\u{85}", #"c1\x85"#),
        ("ls\u{2028}ps\u{2029}", #"ls\u{2028}ps\u{2029}"#),
        (#"back\slash"#, #"back\\slash"#),
        ("fridge-7 ✓", "fridge-7 ✓"),
        ("evil\u{202E}txt.exe", #"evil\u{202E}txt.exe"#),
        ("zero\u{200B}width\u{FEFF}", #"zero\u{200B}width\u{FEFF}"#),
    ])
    func escapes(_ input: String, _ expected: String) {
        #expect(LogText.escaped(input) == expected)
    }

    @Test(arguments: [
        ("f1", "f1"),
        ("x gateway.name=gwB", #""x gateway.name=gwB""#),
        (#"say "hi""#, #""say \"hi\"""#),
        ("a\nb c", #""a\nb c""#),
    ])
    func metadataValuesWithSpacesAreQuoted(_ input: String, _ expected: String) {
        #expect(LogText.field(input) == expected)
    }

    @Test func theHandlerEscapesTheMessageAndEveryMetadataValue() {
        let recorder = RecordingLogHandler()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(recorder) }
        logger[metadataKey: "client.id"] = "c\n1"
        logger.warning(
            "dropped \("x\ny")",
            metadata: [
                "mqtt.topic": "a/\u{1B}[2J/b", "list": .array(["\r"]), "nested": .dictionary(["k": "\n"]),
                "number": .stringConvertible(42),
            ])
        let event = recorder.events.withLock { $0.last }
        #expect(event?.message == #"dropped x\ny"#)
        #expect(event?.metadata?["mqtt.topic"] == .string(#"a/\x1B[2J/b"#))
        #expect(event?.metadata?["list"] == .array([.string(#"\r"#)]))
        #expect(event?.metadata?["nested"] == .dictionary(["k": .string(#"\n"#)]))
        #expect(event?.metadata?["number"] == .string("42"))
        #expect(logger[metadataKey: "client.id"] == .string(#"c\n1"#))
    }
}

/// Keeps what it is asked to log.
final class RecordingLogHandler: LogHandler, Sendable {
    let events = Mutex<[(message: String, metadata: Logger.Metadata?)]>([])

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    var metadata: Logger.Metadata {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
    private let stored = Mutex<Logger.Metadata>([:])

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stored.withLock { $0[key] } }
        set { stored.withLock { $0[key] = newValue } }
    }

    func log(event: LogEvent) {
        events.withLock { $0.append((event.message.description, event.metadata)) }
    }
}
