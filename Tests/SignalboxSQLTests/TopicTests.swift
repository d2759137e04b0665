import Testing

@testable import SignalboxSQL

struct TopicFilterTests {
    @Test(arguments: [
        ("a/b", "a/b", true), ("a/b", "a/c", false), ("a/+", "a/b", true), ("a/+", "a/e/f", false),
        ("a/+", "a", false), ("a/#", "a/b", true), ("a/#", "a/e/f", true), ("a/#", "b/x", false),
        // AWS IoT: `#` matches one or more levels, "not messages published to `sensor`".
        ("a/#", "a", false), ("sensor/#", "sensor", false), ("sensor/+/#", "sensor/t", false),
        ("sensor/#", "sensor/", true), ("sensor/#", "sensor/temperature/room1", true),
        ("sensor/#", "Sensor", false), ("+/+", "a/b", true), ("+", "a", true),
        ("+", "/a", false), ("+/a", "/a", true), ("#", "a/b/c", true), ("#", "$aws/things/x/shadow/update", false),
        ("+/things/x", "$aws/things/x", false), ("$aws/things/+/shadow/#", "$aws/things/f1/shadow/update", true),
        ("a/+/c", "a//c", true), ("A/b", "a/b", false),
    ])
    func matching(_ filter: String, _ topic: String, _ expected: Bool) throws {
        let parsed = try TopicFilter(filter)
        #expect(parsed.matches(topic) == expected)
        var trie = TopicTrie<Int>()
        trie.insert(parsed, 1)
        #expect(trie.matches(topic) == (expected ? [1] : []))
    }

    /// A broker subscription matches as MQTT 3.1.1 says: `#` also matches the parent level.
    @Test(arguments: [
        ("sensor/#", "sensor", true), ("sensor/+/#", "sensor/t", true), ("sensor/#", "sensor/a/b", true),
        ("sensor/#", "sensors", false), ("#", "$aws/rules/r/x", false), ("a/+", "a", false),
    ])
    func matchingAsASubscription(_ filter: String, _ topic: String, _ expected: Bool) throws {
        #expect(try TopicFilter(filter).matchesAsSubscription(topic) == expected)
    }

    @Test(arguments: [
        ("", "the topic filter is empty"),
        ("a/#/b", "'#' must be the last level of a topic filter"),
        ("a/b#", "a wildcard ('+' or '#') must occupy a whole topic level"),
        ("a+/b", "a wildcard ('+' or '#') must occupy a whole topic level"),
        ("1/2/3/4/5/6/7/8/9", "the topic filter has more than 8 levels"),
        (String(repeating: "x", count: 257), "the topic filter is longer than 256 bytes"),
    ])
    func invalidFilters(_ filter: String, _ message: String) {
        #expect(throws: TopicFilter.Invalid.self) { try TopicFilter(filter) }
        do {
            _ = try TopicFilter(filter)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func trieReturnsEveryMatchInInsertionOrder() throws {
        var trie = TopicTrie<String>()
        for (i, filter) in ["a/b/c", "a/+/c", "#", "a/#", "a/b/+", "x/y", "+/+/+", "a/b/c/#"].enumerated() {
            trie.insert(try TopicFilter(filter), "\(i):\(filter)")
        }
        // 'a/b/c/#' needs a level after 'a/b/c' (AWS IoT), so it matches 'a/b/c/d' but not 'a/b/c'.
        #expect(trie.matches("a/b/c") == ["0:a/b/c", "1:a/+/c", "2:#", "3:a/#", "4:a/b/+", "6:+/+/+"])
        #expect(trie.matches("a/b/c/d") == ["2:#", "3:a/#", "7:a/b/c/#"])
        #expect(trie.matches("x/y") == ["2:#", "5:x/y"])
        #expect(trie.matches("$SYS/x/y").isEmpty)
    }

    @Test func trieCopiesOnWrite() throws {
        var first = TopicTrie<Int>()
        first.insert(try TopicFilter("a/b"), 1)
        var second = first
        second.insert(try TopicFilter("a/b"), 2)
        #expect(first.matches("a/b") == [1])
        #expect(second.matches("a/b") == [1, 2])
    }

    @Test(
        arguments: [
            ("a/b", nil), ("", "the topic is empty"),
            ("a/+/b", "the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
            ("1/2/3/4/5/6/7/8/9", "the topic has more than 8 levels"),
            ("$aws/things/t/shadow/name/n/update/accepted", nil),
            // Basic Ingest: the rule name is checked, and the limits apply to the topic after it.
            ("$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights", nil),
            ("$aws/rules/r_1-a/1/2/3/4/5/6/7/8", nil),
            ("$aws/rules/r/1/2/3/4/5/6/7/8/9", "the topic has more than 8 levels"),
            ("$aws/rules/r/" + String(repeating: "x", count: 256), nil),
            ("$aws/rules/r/" + String(repeating: "x", count: 257), "the topic is longer than 256 bytes"),
            ("$aws/rules/r/a/+", "the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
            (
                "$aws/rules/r",
                "a Basic Ingest topic is $aws/rules/{rule}/{topic}; the topic after the rule name is missing"
            ),
            (
                "$aws/rules/r/",
                "a Basic Ingest topic is $aws/rules/{rule}/{topic}; the topic after the rule name is missing"
            ),
            ("$aws/rules//x", "the rule name of the Basic Ingest topic $aws/rules/{rule}/{topic} is empty"),
            ("$aws/rules/a.b/x", "the rule name of a Basic Ingest topic may only contain letters, digits, '_' and '-'"),
            (
                "$aws/rules/" + String(repeating: "r", count: 129) + "/x",
                "the rule name of the Basic Ingest topic is longer than 128 characters"
            ),
        ] as [(String, String?)])
    func topicNames(_ topic: String, _ message: String?) {
        do {
            try TopicName.validate(topic)
            #expect(message == nil)
        } catch {
            #expect(error.message == message)
        }
    }
}

struct BasicIngestTopicTests {
    @Test(
        arguments: [
            ("$aws/rules/BuildingManager/Buildings/Building5/Lights", "BuildingManager", "Buildings/Building5/Lights"),
            ("$aws/rules/r/x", "r", "x"), ("$aws/rules/r/", "r", ""),
            ("$aws/rules/r/$aws/things/t", "r", "$aws/things/t"),
            ("$aws/rules/r", nil, nil), ("$aws/rulesr/x", nil, nil), ("$aws/things/t/shadow/update", nil, nil),
            ("aws/rules/r/x", nil, nil), ("sensor/x", nil, nil),
        ] as [(String, String?, String?)])
    func splitting(_ topic: String, _ rule: String?, _ rest: String?) {
        let routed = BasicIngestTopic(topic)
        #expect(routed.map { String($0.ruleName) } == rule)
        #expect(routed.map { String($0.topic) } == rest)
        #expect(BasicIngestTopic.effectiveTopic(topic) == (rest ?? topic)[...])
    }
}

struct TemplateTests {
    func render(_ template: String, sql: String = "SET @v = temp * 2 SELECT * FROM 'devices/+/t'", payload: String)
        throws -> String
    {
        let statement = try Statement(sql)
        let message = Message(topic: "devices/f1/t", payload: Array(payload.utf8), timestamp: 1000)
        let evaluation = try statement.evaluate(message)
        return try statement.template(template).render(in: evaluation.frame)
    }

    @Test(arguments: [
        ("Fridge ${topic(2)} is at ${temp} C", "Fridge f1 is at 4.5 C"),
        ("${topic()}/republish", "devices/f1/t/republish"),
        ("no substitutions", "no substitutions"),
        ("${@v}", "9.0"),
        ("${name}|${missing}|${n}|${flag}|${obj}|${arr}", #"fridge|||true|{"a":"b"}|[1,"x"]"#),
        ("${nul}", "null"),
        ("${get({'a': 1}, 'a')}", "1"),
        ("${upper(name) + '!'}", "FRIDGE!"),
        ("$notatemplate {x}", "$notatemplate {x}"),
        ("${'}'}", "}"),
    ])
    func rendering(_ template: String, _ expected: String) throws {
        let payload = #"{"temp":4.5,"name":"fridge","flag":true,"obj":{"a":"b"},"arr":[1,"x"],"nul":null}"#
        #expect(try render(template, payload: payload) == expected)
    }

    @Test func templatesCannotSeeSelectAliases() throws {
        let statement = try Statement("SELECT temp AS t FROM 'x'")
        let frame = try statement.evaluate(Message(topic: "x", payload: Array(#"{"temp":1}"#.utf8), timestamp: 0)).frame
        #expect(try statement.template("${t}|${temp}").render(in: frame) == "|1")
    }

    @Test(arguments: [
        ("${", "unterminated '${' in substitution template"),
        ("a ${ } b", "empty expression in substitution template"),
        ("${avrg(1)}", "unknown function 'avrg'"),
        ("${@nope}", "unknown variable '@nope'"),
        ("${1 +}", "expected an expression, found end of input"),
    ])
    func invalidTemplates(_ template: String, _ message: String) throws {
        let statement = try Statement("SELECT * FROM 'x'")
        do {
            _ = try statement.template(template)
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.first?.message == message)
        }
    }
}
