"""English phrase banks (same structure and slots as phrases_zh)."""

BANKS = ["Huashang Bank", "Hengxin Bank", "Orient Huitong Bank", "Changjiang Bank", "Ruifeng Bank", "Minrong Bank"]
BOTS = ["Ava", "Leo", "Mia", "Max", "Ivy", "Sam"]
SURNAMES = ["Wang", "Li", "Zhang", "Chen", "Liu", "Smith", "Johnson", "Brown", "Lee", "Wong", "Tan", "Patel",
            "Garcia", "Ho", "Lam", "Miller", "Kim", "Nguyen"]
TITLES = ["Mr.", "Ms."]

OPENINGS = [
    "Hello, am I speaking with {t} {s}?",
    "Hi, this is {bot}, the digital assistant from {bank}. Is this {t} {s}?",
    "Good {greet}, this is {bank} customer service. May I speak to {t} {s}, please?",
    "Hello {t} {s}, I'm {bot} from {bank} wealth management. Do you have a minute?",
    "Hi, I'm calling from {bank}. Is this {t} {s}, phone number ending in {tail}?",
    "Good {greet} {t} {s}, this is {bot} from {bank}. Is now a good time to talk?",
    "Hello, this is {bank}'s virtual assistant {bot}. Am I talking to {t} {s}?",
]
IDENTITY_YES = ["Yes, speaking.", "Yeah, that's me.", "Speaking.", "Yes, what is it?", "Uh, yes?", "Yeah, go ahead.",
                "That's me, what's this about?", "Yes.", "Sure, go on.", "Mm-hmm.", "Yep.", "Yes, who is this?"]
IDENTITY_WHO = ["Who is this?", "Sorry, who's calling?", "Who are you?", "What's this about?"]
INTRO_AFTER_WHO = ["I'm {bot}, the digital assistant from {bank}. ", "This is {bank} customer service, my name is {bot}. "]

PITCH = {
    "wealth": [
        "We have a new {term} low-risk wealth product with a benchmark return of {rate}%, starting from {min}. ",
        "Based on your account with us, we'd like to recommend a {term} fixed-income product, around {rate}% a year, minimum {min}. ",
        "You have some idle funds in your account, and we have a {risk} product for {term} with a reference yield of {rate}%. ",
        "For long-standing customers we have an exclusive wealth product, {term}, benchmark {rate}%, much better than a current account. ",
    ],
    "fund": [
        "Our {fundtype} fund has a monthly investment plan starting at {amt} yuan, with a discounted subscription fee. ",
        "We'd like to recommend a {fundtype} fund that has been quite stable over the past year, and online fees are discounted. ",
        "You looked at funds before; right now there is a regular investment offer from {amt} yuan, and you can pause any time. ",
    ],
    "deposit": [
        "Our {term} certificate of deposit now pays {rate}%, starting from {min}, and the quota is limited. ",
        "One of your time deposits is maturing soon, and our {term} deposit rate is now {rate}%, you can roll it over directly. ",
        "We have a new {term} savings deposit at {rate}%, covered by deposit insurance, from {min}. ",
    ],
    "insurance": [
        "Together with our insurance partner we offer a {instype}, {insfeat}. ",
        "Many customers are buying {instype} for their families, and ours {insfeat}. ",
        "You asked about protection products before; we have a {instype} that {insfeat}. ",
    ],
    "credit_card": [
        "You qualify for our {card}, {perk}. ",
        "Our {card} has a new-customer offer, {perk}, with a limit of up to {limit}. ",
        "We noticed you don't have our credit card yet; if you apply for the {card} now, {perk}. ",
    ],
    "loan": [
        "You have a pre-approved {loantype} of {loanamt} with us, at rates from {rate}% a year, {lperk}. ",
        "Our {loantype} has a promotion right now, up to {loanamt}, {lperk}, from {rate}% a year. ",
        "Based on your credit profile we pre-approved a {loantype} of {loanamt}, {lperk}. ",
    ],
}
PITCH_END = {
    "default": ["Would you be interested in hearing more?", "Are you planning any investments at the moment?",
                "Shall I tell you a bit more about it?", "Would you like to consider it?"],
    "loan": ["Do you have any funding needs at the moment?", "Shall I tell you a bit more about it?"],
    "credit_card": ["Would you like me to help you apply?", "Shall I tell you a bit more about it?"],
}
SLOTS = {
    "term": {"wealth": ["three-month", "six-month", "nine-month", "one-year", "two-year", "180-day"],
             "deposit": ["one-year", "two-year", "three-year", "five-year"]},
    "rate": {"wealth": (2.2, 3.6), "deposit": (1.45, 2.25), "loan": (2.98, 4.6)},
    "min": {"wealth": ["10,000 yuan", "50,000 yuan", "1 yuan", "1,000 yuan"], "deposit": ["200,000 yuan", "50,000 yuan", "10,000 yuan"]},
    "risk": ["low-risk", "R2 medium-low risk", "R1"],
    "fundtype": ["bond", "index", "balanced", "money market", "pension target"],
    "amt": ["100", "200", "500", "1000"],
    "disc": ["90%", "80%", "50%"],
    "instype": ["critical illness policy", "medical insurance plan", "accident policy", "annuity", "whole life policy"],
    "insfeat": ["covers a million in medical bills for a few hundred a year", "has a premium waiver",
                "covers you up to age eighty", "has a steadily growing cash value", "can be bought fully online"],
    "card": ["Platinum card", "co-branded card", "driver's card", "Gold card", "travel card"],
    "perk": ["the first year is free", "you get 100 yuan back after three purchases", "fuel is 5% off",
             "airport lounge access is included", "you earn double points"],
    "limit": ["50,000", "100,000", "30,000"],
    "loantype": ["consumer loan", "business loan", "renovation loan", "credit loan"],
    "loanamt": ["100,000 yuan", "200,000 yuan", "300,000 yuan", "80,000 yuan"],
    "lperk": ["borrow and repay any time", "funds can arrive the same day", "interest is charged daily",
              "you can apply online"],
    "gift": ["a cash coupon", "bonus points", "a phone credit voucher", "a streaming membership"],
}
POS_GENERIC = [
    (["What's the return?", "What's the interest rate?", "How much would I earn?", "Is that better than a time deposit?",
      "What's the annual yield again?"],
     ["The benchmark is {rate}%, so on 100,000 yuan that's a bit over two thousand a year.",
      "The reference annual return is {rate}%, higher than a regular deposit."]),
    (["How long is the term?", "When can I take the money out?", "Can I withdraw early?"],
     ["The term is {term}; at maturity the money goes straight back to your account.",
      "It's a {term} product, paid out automatically at maturity."]),
    (["What's the minimum?", "How much do I need to start?", "Can I buy with ten thousand?"],
     ["You can start from {min}.", "The minimum is {min}, so the threshold is low."]),
    (["Can I buy it in the mobile app?", "How do I buy it?", "Do I need to go to a branch?", "What documents do I need?"],
     ["Just search for the product in the mobile banking app, it takes two minutes.",
      "You can buy it in the app or at any branch."]),
    (["Actually I have some money maturing next month.", "I do have some spare cash right now.",
      "I was thinking about investing anyway.", "A friend of mine bought this too."],
     ["That fits nicely, the timing works well.", "Great, there is still quota available."]),
    (["Are there any fees?", "Is there a management fee?"],
     ["There is no subscription fee; the management fee is already reflected in the return.",
      "No extra fees, the details are in the product sheet."]),
]
POS_PRODUCT = {
    "fund": [(["Can I stop the monthly plan any time?", "Has this fund ever lost money?"],
              ["You can pause or change the plan any time.", "Funds do fluctuate, but this one has had small drawdowns."])],
    "insurance": [(["How much is the premium per year?", "Up to what age does it cover?", "Is there a waiting period?"],
                   ["For your age it's about two thousand a year.", "The waiting period is ninety days."])],
    "credit_card": [(["Is there an annual fee?", "What would my limit be?", "Can I link it to my phone wallet?"],
                     ["The first year is free, and six purchases waive the next year.", "Limits go up to {limit} depending on your profile."])],
    "loan": [(["How much can I borrow?", "How is the interest calculated?", "Any penalty for early repayment?"],
              ["Interest is charged daily and there is no early repayment penalty.", "Up to {loanamt}, and funds can arrive the same day."])],
    "deposit": [(["Can I withdraw early?", "Is interest paid yearly?"],
                 ["Yes, early withdrawals earn the current-account rate.", "Interest and principal are paid at maturity."])],
}
NEG_CUES = ["Let me think about it.", "Money's a bit tight right now.", "I don't really understand these things.",
            "Is it risky? I don't want to lose money.", "That rate isn't that high.", "I need to talk to my wife first.",
            "I need to talk to my husband first.", "I'm still down on the last fund I bought."]
NEG_REPLY = ["I understand, it's low risk, just have a look first.", "No problem, take your time.",
             "Sure, it's your decision."]
OFF_TOPIC = [
    ("Hold on, someone's at the door.", ["Sure, no problem."]),
    ("Are your branches open on Saturday?", ["Most branches are open on Saturday; you can check in the app."]),
    ("Did you charge my credit card twice last month?", ["Please call our hotline about that; let me get back to the product."]),
    ("Which bank did you say?", ["I'm {bot} from {bank}."]),
    ("I forgot my app password, what do I do?", ["You can reset it from the login page."]),
    ("You sound like a real person.", ["Thank you, I'm {bank}'s digital assistant."]),
    ("Sorry, my kid is shouting, can you speak slower?", ["Of course, I'll slow down."]),
]
BACKCHANNEL = ["Uh-huh.", "Okay.", "Right.", "Mm.", "And?", "Go on.", "Really?", "Hmm."]
BC_REPLY = ["Also, you get {gift} if you buy now.", "Many customers chose it this year.",
            "You can do it all in the mobile app.", "It's a stable, long-term product."]
DECISIVE = {
    "interested": {
        "lead": ["", "", "Okay, ", "Sounds good, ", "Alright, ", "Hmm, ", "Sure, "],
        "core": ["send me the details by text", "send me a link and I'll have a look", "can you book it for me",
                 "so how do I buy it", "I'll go to the branch this afternoon", "put me down for some",
                 "I'll buy it in the app later", "sign me up", "I'm interested, text me the details",
                 "let's do it", "I'd like to try a small amount", "send me the product sheet"],
        "tail": ["", ".", ", thanks.", ", please."],
    },
    "asks_for_human": {
        "lead": ["", "", "Wait, ", "Look, ", "Hmm, "],
        "core": ["are you a robot? I want a real person", "transfer me to a human", "I don't want to talk to a machine",
                 "have my relationship manager call me", "can I speak to an actual person",
                 "I'd rather talk to a financial advisor directly", "get me a human agent", "put a real person on the line"],
        "tail": ["", ".", ", please.", ", I have questions."],
    },
    "call_back_later": {
        "lead": ["", "", "Sorry, ", "Oh, ", "Uh, "],
        "core": ["I'm driving right now, call me later", "I'm in a meeting, can you call back later",
                 "I'm busy now, try tomorrow", "this isn't a good time, maybe later", "I'm at work, call me after six",
                 "I'm on the train, I can't hear well, call later", "call me back next week", "I'm having dinner, call this afternoon"],
        "tail": ["", ".", ", okay?", ", thanks."],
    },
    "not_interested": {
        "lead": ["", "", "No, ", "Nah, ", "Uh, "],
        "core": ["not interested, thanks", "I don't need it", "no thanks", "I don't buy these things",
                 "I already have one with another bank", "not at the moment", "I have no money for that",
                 "that's not for me", "I'm fine, thank you"],
        "tail": ["", ".", ", bye.", ", don't bother."],
    },
    "complaint": {
        "lead": ["", "", "Listen, ", "Again? "],
        "core": ["you people call me every day, stop it", "I want to file a complaint", "I told you not to call me again",
                 "how did you get my number? did you leak my data", "I lost money on the last product you sold me",
                 "you still haven't fixed the wrong fee you charged", "call again and I'll report you to the regulator",
                 "your service is terrible", "this is harassment, take my number off your list"],
        "tail": ["", "!", ".", ", seriously."],
    },
}
FOLLOWUP = {
    "call_back_later": (["Sure, when would be a good time?", "No problem, would tomorrow work?"],
                        ["After three", "Tomorrow morning", "Whenever", "Maybe the weekend", "Evening, after seven"]),
    "asks_for_human": (["Sure, what would you like to ask about? Let me note it down first."],
                       ["The product you just mentioned", "Returns and risks", "I'll tell them myself"]),
}
CLOSING = {
    "generic": ["Thank you for your time, have a nice day. Goodbye!", "Alright, I won't take more of your time. Goodbye.",
                "Thank you for banking with {bank}. Goodbye."],
    "interested": ["Great, I'll text you the product details shortly.", "Done, you're registered and someone will follow up with you.",
                   "I'll send the product link to your phone, you can buy it there."],
    "asks_for_human": ["Sure, a relationship manager will call you shortly, please keep your phone on.",
                       "Okay, transferring you to an agent now, please hold.", "Noted, an advisor will call you back soon."],
    "call_back_later": ["No problem, we'll call you another time. Have a nice day.", "Sure, I'll call back later. Bye."],
    "not_interested": ["Understood, sorry to bother you. Feel free to contact us any time.", "Alright, thanks anyway. Goodbye."],
    "complaint": ["I'm very sorry for the trouble; your feedback has been recorded and will be passed on.",
                  "Sorry to disturb you, we'll add your number to the do-not-call list.",
                  "Apologies, someone will follow up on the issue you raised."],
}
FINAL = ["Okay, bye.", "Bye.", "Thanks, bye.", "Mm.", "Okay.", "Sure."]
MIXED = {
    "interested": ["but I'm out right now, just text me", "though I'm a bit busy, send it over"],
    "call_back_later": ["that sounds kind of nice", "I might be interested"],
    "asks_for_human": ["sounds okay", "I'm quite interested actually"],
    "not_interested": ["the rate is okay, but", "sounds nice, but"],
    "complaint": ["No!", "Not interested!"],
}
NO_ANSWER = {
    "wrong_person": (["Wrong number.", "I'm not {t} {s}.", "There's no one by that name here.",
                      "I just got this number, I don't know them."],
                     ["Sorry to bother you, have a nice day.", "Apologies, we may have the wrong number."]),
    "family": (["He's not here, I'm his wife.", "She left her phone at home, I'm her husband.", "This is his son, he's out."],
               ["Okay, please let them know {bank} called. Thank you, goodbye.", "Alright, we'll try again later."]),
    "unclear": (["Hello?", "Hello? I can't hear you.", "What?", "Sorry, what?", "...", "Who? I can't hear."],
                ["Hello, can you hear me?", "Are you still there?", "The line seems to be bad."]),
}
NO_ANSWER_END = ["The line seems bad, we'll call you later. Goodbye.", "Alright, sorry to disturb you. Goodbye."]
NO_ANSWER_MUMBLE = ["Hmm...", "Hello?", "...", "Huh?", "What"]
FILLERS = ["uh, ", "um, ", "well, ", "like, ", "you know, ", "so, "]
# Word-level ASR confusions.
HOMOPHONES = {
    "to": ["two", "too"], "for": ["four"], "buy": ["by", "bye"], "rate": ["great", "late"], "fund": ["found"],
    "loan": ["lone"], "know": ["no"], "right": ["write"], "later": ["letter"], "interested": ["interest"],
    "human": ["humane"], "person": ["parson"], "here": ["hear"], "there": ["their"], "week": ["weak"],
    "meeting": ["meting"], "driving": ["diving"], "call": ["cool"], "money": ["many"], "text": ["next"],
    "details": ["retails"], "complaint": ["complained"], "busy": ["bussy"], "need": ["knead"], "yield": ["yelled"],
}

RETRY = ["I understand. Just one more thing, this product really suits customers like you, would you reconsider?",
         "Sure. Just so you know, there is also {gift} if you sign up now. Any interest?"]
REFUSE_AGAIN = ["Really, no.", "No thanks.", "I said no.", "Not interested."]
PITCH_PREFIX = ["", "", "", "Great. ", "So, "]
PITCH_DETAIL = {
    "wealth": ["It mainly invests in high-grade bonds, so the value is quite stable. ", "Past issues have met their benchmark. "],
    "fund": ["It's run by one of our senior fund managers. ", "A monthly plan smooths out market swings. "],
    "deposit": ["It's covered by deposit insurance. ", "The rate is locked for the whole term. "],
    "insurance": ["Claims can be filed online. ", "Many families use it as their basic cover. "],
    "credit_card": ["It works in China and abroad. ", "You can add it to your phone wallet right away. "],
    "loan": ["You apply fully online and approval is quick. ", "You pay no interest when you don't use it. "],
}
QUALIFY = [
    (["Do you hold any investment products?"], ["A little.", "Not really.", "Some funds, yes.", "No."]),
    (["Where do you usually keep your savings?"], ["In a savings account.", "At another bank.", "In my current account."]),
]
AMBIGUOUS = {
    "interested": ["Okay, I guess.", "Sure, send it.", "Fine."],
    "asks_for_human": ["Can someone explain it to me?", "I'll ask my manager about it."],
    "call_back_later": ["Maybe later.", "Some other time.", "Let's leave it for now."],
    "not_interested": ["Maybe later.", "Let's leave it for now.", "Nah."],
    "complaint": ["Stop calling me.", "You again?"],
}
