import SignalboxCore
import Testing

@Suite("handler configuration")
struct HandlerConfigTests {
    @Test("an unknown key is refused with the closest allowed key suggested")
    func unknownKey() throws {
        let config = try HandlerConfig(["tabel": "readings"], function: "persist")
        #expect {
            try config.allowKeys(["table", "retain"])
        } throws: { error in
            guard let error = error as? HandlerConfigError, let first = error.diagnostics.first else { return false }
            return first.message == "'persist' has no setting 'tabel'"
                && first.diagnostic.help == "did you mean 'table'?"
        }
    }

    @Test("a template where fixed text is needed is refused")
    func templatedConstant() throws {
        let config = try HandlerConfig(["table": "t_${topic(1)}"], function: "persist")
        #expect(throws: HandlerConfigError.self) { try config.constantString("table") }
        #expect(try HandlerConfig(["table": "t1"]).constantString("table") == "t1")
    }
}
