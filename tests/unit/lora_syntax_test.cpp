// The <lora:NAME:SCALE> prompt syntax: tags taken out of the prompt in order,
// default scale 1, and clear errors naming the tag.
#include <gtest/gtest.h>

#include "workers/generation/lora_syntax.h"

using namespace atelier;

TEST(LoraSyntax, TagsAreTakenOutInOrderWithTheirScales) {
  auto p = parse_prompt_loras("<lora:brand:0.8> red apple, <lora:film grain> flat icon");
  EXPECT_EQ(p.prompt, "red apple, flat icon");
  ASSERT_EQ(p.loras.size(), 2u);
  EXPECT_EQ(p.loras[0].name, "brand");
  EXPECT_DOUBLE_EQ(p.loras[0].scale, 0.8);
  EXPECT_EQ(p.loras[1].name, "film grain");
  EXPECT_DOUBLE_EQ(p.loras[1].scale, 1.0);
  EXPECT_DOUBLE_EQ(parse_prompt_loras("x <lora:a:-0.5>").loras[0].scale, -0.5);
  EXPECT_DOUBLE_EQ(parse_prompt_loras("x <lora:a: 1.5 >").loras[0].scale, 1.5);
}

TEST(LoraSyntax, APromptWithoutTagsIsUnchanged) {
  auto p = parse_prompt_loras("a cat <3 and a dog");
  EXPECT_EQ(p.prompt, "a cat <3 and a dog");
  EXPECT_TRUE(p.loras.empty());
  EXPECT_EQ(parse_prompt_loras("<lora:only>").prompt, "");
  EXPECT_EQ(parse_prompt_loras("红苹果 <lora:品牌:1>").loras[0].name, "品牌");
}

TEST(LoraSyntax, BadTagsNameTheTag) {
  auto message = [](const std::string& prompt) {
    try {
      parse_prompt_loras(prompt);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("a <lora:style:strong>").find("<lora:style:strong>: 'strong' is not a number"),
            std::string::npos);
  EXPECT_NE(message("a <lora::0.5>").find("names no LoRA"), std::string::npos);
  EXPECT_NE(message("a <lora:style").find("no closing '>'"), std::string::npos);
  EXPECT_NE(message("a <lora:x:1e999>").find("not a number"), std::string::npos);
}
