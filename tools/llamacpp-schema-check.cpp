// llama.cpp's own JSON-schema-to-GBNF converter (common/json-schema-to-grammar.cpp, what
// llama-server runs for `json_schema`) and its own grammar engine (src/llama-grammar.cpp),
// for tools/gen-llamacpp-schema-fixtures. Reads a JSON list of {"schema", "instances": [text]}
// on stdin; writes a list of {"gbnf", "verdicts": [bool]} or {"error"}: the grammar llama.cpp
// makes of each schema and whether its engine accepts each instance whole.
#include "json-schema-to-grammar.h"
#include "json.h"
#include "../src/llama-grammar.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

// As tests/test-grammar-integration.cpp matches a string: one code point at a time, then
// accepted when some stack is empty (the root rule is complete).
static bool matches(const std::string & gbnf, const std::string & text) {
    llama_grammar * grammar = llama_grammar_init_impl(nullptr, gbnf.c_str(), "root", false, nullptr, 0, nullptr, 0);
    if (grammar == nullptr) {
        throw std::runtime_error("llama.cpp did not parse its own grammar");
    }
    auto & stacks = llama_grammar_get_stacks(grammar);
    bool alive = true;
    for (size_t i = 0; i < text.size() && alive;) {
        size_t n = 1;
        const unsigned char lead = static_cast<unsigned char>(text[i]);
        if (lead >= 0xF0) { n = 4; } else if (lead >= 0xE0) { n = 3; } else if (lead >= 0xC0) { n = 2; }
        try {
            llama_grammar_accept_token(*grammar, 0, text.substr(i, n));
        } catch (const std::runtime_error &) {
            alive = false;
        }
        alive = alive && !stacks.empty();
        i += n;
    }
    bool complete = false;
    for (const auto & stack : stacks) {
        complete = complete || stack.empty();
    }
    llama_grammar_free_impl(grammar);
    return alive && complete;
}

int main() {
    const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto & item : nlohmann::ordered_json::parse(input)) {
        nlohmann::ordered_json result;
        try {
            const std::string gbnf = json_schema_to_grammar(common_json::parse(item["schema"].dump()), true);
            result["gbnf"] = gbnf;
            result["verdicts"] = nlohmann::ordered_json::array();
            for (const auto & text : item["instances"]) {
                result["verdicts"].push_back(matches(gbnf, text.get<std::string>()));
            }
        } catch (const std::exception & e) {
            result["error"] = e.what();
        }
        out.push_back(result);
    }
    std::cout << out.dump() << std::endl;
    return 0;
}
