"""English customer phrase banks, per intent (American, British, Singaporean/Malaysian and Indian
flavours), written for the generator; not taken from the hand-written evaluation set."""

INT_REACT = [
    "Oh, that sounds decent", "Okay, I'm listening", "Hm, that's interesting", "Actually, I was looking into this",
    "Not bad", "That's better than what I've got now", "Sure, go on", "Oh nice", "Right, that could work",
    "Wah, not bad ah", "Can, can, tell me more", "Ooh, that's a good rate", "Brilliant", "Yeah, I could use that",
    "Huh, okay, that's pretty good", "Go on then", "That's quite attractive actually", "Fair enough, keep going",
    "Cool, cool", "Interesting, my bank pays less", "Okay yaar, sounds good", "Alright, you've got my attention",
]
INT_COMMIT = [
    "Sign me up", "Send me the link and I'll do it tonight", "Can you reserve a slot for me?", "I'll put fifty thousand in",
    "Let's do it when my deposit matures next week", "Text me the product code", "I'll apply on the app this evening",
    "Go ahead and start the application", "I want to open one", "Book me in, I'll come to the branch on Saturday",
    "Roll it over into the new one", "I'll try it with a small amount first", "Set up a monthly plan for me",
    "Put me down for it", "Okay, I'm in", "I'll transfer the money tomorrow", "Email me the form and I'll fill it in",
    "Just process it, can", "Okay lah, I take one", "Do it, I'll sign whatever you need", "I'll get my son to help me buy it online",
    "How soon can I start? I'd like to go today", "Yes please, register me", "Count me in for the launch",
]
INT_MIXED_LEAD = [
    "I nearly hung up, but ", "Honestly I thought this was a scam call, but ", "Your rates keep dropping, still, ",
    "The fee thing last year annoyed me, anyway, ", "I've already got two cards, but ", "I'm not a fan of these products, but ",
]

HUM_REASON = [
    "this is too complicated for a phone bot", "I can't follow the recording", "it's a big amount of money",
    "I have a bunch of questions", "I don't do this kind of thing with a machine", "I'd rather discuss it face to face",
    "you keep cutting me off", "these automated calls never understand me", "my hearing isn't great",
    "I want someone to look at my whole situation", "I don't trust a robot with this", "it's easier with a person",
    "my wife wants to be on the call too", "the terms are confusing",
]
HUM_REQUEST = [
    "Can I speak to a real person?", "Put me through to an agent", "Transfer me to a human, please", "Is there an actual person there?",
    "Have my relationship manager call me", "Get my RM to ring me", "I'd like to talk to an advisor", "Connect me to customer service",
    "I want to speak with someone, not a machine", "Can someone from the branch call me?", "Let me talk to a human",
    "Operator, please", "Agent. Agent. Representative.", "Can I book an appointment with a banker?", "Have a person call me back",
    "I'd like to meet someone at the branch", "Get me a live agent", "Pass me to a staff member can or not?",
    "Let a real person explain it to me", "Could an advisor give me a ring?", "I want my personal banker to contact me",
    "Can you connect me to a wealth manager?", "Speak to a human, please", "Can I speak to somebody?",
    "Is there a person I could talk this through with?", "Have someone from your team ring me", "Get the branch to call me",
]
HUM_TIME = ["", "", "", "I'm free this afternoon.", "Tomorrow morning works.", "I can come in on Saturday.",
            "After six is best.", "Any time today.", "Before Wednesday, please.", "I'm around all week."]

CB_CONTEXT = [
    "I'm driving right now", "I'm in a meeting", "I'm at work", "I'm cooking dinner", "I'm at the doctor's",
    "I'm on the train", "I've got the kids with me", "I'm out running errands", "I'm about to board a flight",
    "I'm in class", "I just walked in the door", "I'm in the shower", "I'm having lunch with a client", "I'm on site, it's loud",
    "I'm at the checkout", "I'm picking up my daughter", "I'm swamped at the office", "I'm at the gym", "I'm on another call",
    "I'm in the car lah", "I'm out with friends", "I'm at a funeral", "I'm in the middle of something", "I'm on a bus",
]
CB_CANT = ["this isn't a good time", "I can't talk now", "I can't really listen right now", "bad timing", "now is not convenient",
           "cannot talk now", "", ""]
CB_WHEN = [
    "call me back later", "try me tomorrow", "ring me after three", "call in a couple of days", "catch me at the weekend",
    "give me an hour", "after eight tonight", "maybe Monday", "some other time", "once I'm off work", "in half an hour",
    "tomorrow morning", "later this week", "call again next week", "try again this evening", "ten minutes, okay?",
    "after lunch", "can call back later or not?", "let's talk another day",
]
CB_INTEREST = ["I do want to hear about it", "it sounds alright actually", "I was meaning to ask about this", ""]

NI_REFUSE = [
    "No thanks", "Not interested", "I'll pass", "No need", "Nah", "I don't need that", "Not for me", "No, thank you",
    "I'm good", "Don't bother", "No lah", "No need, thanks", "I'm not looking for anything", "Not right now, not ever",
    "No, I'm fine", "Thanks but no", "I'll have to decline", "Nope", "I'll leave it where it is",
    "I think I'll give it a miss", "I'd rather keep things simple", "Let's not", "I'll stick with what I have",
]
NI_REASON = [
    "I bank elsewhere", "I don't have spare cash", "I already have one", "the rate's too low", "I don't understand these things",
    "too risky for me", "I have enough cards", "I don't borrow money", "my family handles the money", "we just bought a house",
    "I invest on my own", "I keep everything in savings", "I'm retiring soon, not changing anything", "I have a financial planner",
    "I'm still down on the last one", "I'm paying off my mortgage", "I'm withdrawing it when it matures", "I've got enough insurance",
    "I'm closing my cards", "I hate instalment plans", "the fee's too high", "",
]
NI_POLITE = ["", "", "Thanks anyway.", "Bye.", "Have a good day.", "Don't waste your time.", "Sorry.", "Cheers."]

CP_GRIEVANCE = [
    "the fund you sold me lost half its value", "you told me it was capital protected and it wasn't",
    "nobody mentioned the risks when I bought it", "you charged me an annual fee I never agreed to",
    "the zero-interest plan turned out to have monthly fees", "you call me several times a day",
    "you've been calling my office", "your collectors called my parents", "I never gave you this number for marketing",
    "I don't even have a loan with you and you keep calling", "my redemption hasn't arrived after a week",
    "I waited two hours at the branch", "your hotline never picks up", "you got my interest wrong",
    "you opened a service without my consent", "I already told you to stop and you keep going", "your staff were rude to me",
    "you call me at night", "my card was skimmed and nobody has helped", "I've chased this three times with no reply",
    "there was a hidden fee on my loan", "the gift you promised never arrived", "you've shared my data with someone",
]
CP_ESCALATE = [
    "I want to make a complaint", "I'm filing a formal complaint", "I'll report this to the regulator",
    "I'm going to the Financial Ombudsman", "I'll take this to the ombudsman", "I'll report you to the financial authority",
    "I'm calling my lawyer", "I'll go to the press", "I want to speak to your manager about this", "I'll escalate this",
    "I'm reporting you for harassment", "this is going to consumer protection", "give me a complaint reference number",
    "I'll write to your head office", "I'm posting about this online", "you'll be hearing from my solicitor",
    "I'll lodge a complaint with the central bank", "this is not acceptable and I want it on record",
]
CP_DEMAND = ["", "", "I want a refund", "someone needs to call me today", "I want this fixed", "reverse the charges",
             "I expect compensation", "check your own recordings", "I want an answer in writing"]
CP_SUBTLE = [
    "How is this acceptable?", "This is ridiculous.", "I'm really disappointed in you people.", "You've got some nerve calling me.",
    "This is a joke.", "Is this how you treat loyal customers?", "I feel completely cheated.", "This is harassment, plain and simple.",
    "Unbelievable.", "You should be ashamed.", "This is really not on.",
]

DNC = [
    "Stop calling me", "Take my number off your list", "Don't call me again", "Remove me from your call list",
    "Put me on your do-not-call list", "I don't want any more marketing calls", "Never contact me again",
    "Delete my number", "Don't ever ring this number again", "No more calls, no texts, nothing", "Unsubscribe me from all of this",
    "Opt me out of these calls", "Please stop contacting me", "Don't call this number again, understand?",
]

NA_CARRIER = [
    "The number you have dialled is not available. Please try again later.", "The subscriber cannot be reached at the moment.",
    "This number is no longer in service.", "The person you are calling is busy, please try again later.",
    "Your call cannot be completed as dialled.",
]
NA_VOICEMAIL = [
    "Hi, you've reached my voicemail, leave a message.", "Please leave your message after the tone.",
    "Sorry I missed you, I'll call you back.", "The mailbox is full and cannot accept messages.",
    "This is the call screening assistant, who's calling please?",
]
NA_BADLINE = ["Hello?", "Hello? Hello?", "Sorry, you're breaking up", "I can't hear you", "What? ...", "...", "Huh?",
              "[inaudible]", "Hello, anyone there?", "The line's bad", "Say again?", "You're cutting out"]
NA_SOMEONE_ELSE = [
    "He's not home, I'm his wife", "She's out, this is her son", "He's at work, I'm his flatmate", "She's asleep, call later",
    "This is his dad, he moved out", "She left her phone here",
]
NA_WRONG = ["Wrong number", "There's no one by that name here", "I'm not {s}", "You've got the wrong person",
            "I just got this number, don't know them", "This is a garage, mate, wrong number"]
NA_IVR = ["Welcome, press one for sales, press two for support.", "Invalid entry, please try again.", "Please hold, all our agents are busy."]
NA_NOISE = ["[background noise]", "...put it over there...", "[TV in background] ...and now the weather...", "[coughing]",
            "...no, the blue one...", "[wind noise]"]

OFF_TOPIC = [
    "Hang on, someone's at the door", "It's pouring here today", "Sorry, the kids are screaming", "Is this really the bank?",
    "Am I talking to a robot?", "I just finished work, I'm knackered", "I'm walking the dog", "It's boiling today",
    "You sound almost human", "We just got back from holiday", "My phone's about to die", "The traffic is awful today",
    "Is your branch open on Sundays?", "My neighbours are drilling again", "Are you a robot?",
    "Is this a recording?", "You're a bot, aren't you?", "So many scam calls these days",
]
BACKCHANNEL = ["Uh-huh.", "Okay.", "Right.", "Mm.", "And?", "Go on.", "Really?", "Hmm.", "Yeah.", "I see.", "Sure.", "Ok lah."]
HESITATE = [
    "Let me think about it", "Money's a bit tight right now", "I don't really understand these things", "Is it risky? I can't lose money",
    "The rate isn't that high", "I'd have to ask my wife", "I'm a bit old for this", "My last fund is still down",
    "What's the catch?", "What if I need the money early?",
]
FINAL = ["Okay, bye.", "Bye.", "Thanks, bye.", "Mm.", "Okay.", "Sure.", "Cheers.", "Alright then.", "Bye bye."]
FILLERS = ["uh, ", "um, ", "well, ", "like, ", "you know, ", "so, ", "erm, "]

DNC_STOP = (["", "From now on, ", "Going forward, "], ["don't", "do not", "never"], ["", "ever "],
            ["call me", "ring me", "call this number", "phone me", "contact me"], ["", " again", " about this stuff"])
DNC_REMOVE = (["", "Please ", "Just "], ["take", "remove", "delete", "wipe"], ["my number", "me", "this number", "my details"],
              [" off your list", " from your list", " from your call list", " from your system", ""], ["", ", thanks", ", for good"])
CP_GRIEVANCE += ["I've disputed these charges for weeks and nothing happens", "you keep charging interest on a transaction I disputed",
                 "my case has been open for a month"]
CP_ESCALATE += ["get me your supervisor", "I want a supervisor to sort this out", "I'm moving all my money to another bank over this",
                "otherwise I'm closing all my accounts"]

# ---------------------------------------------------------------- more variety (issue 8)
CP_PERSON = [
    "I want your branch manager to call me and explain this", "have the adviser who sold me this call me back",
    "get someone senior to ring me today", "I want the name of whoever is responsible", "put me through to a manager, now",
    "I want a call from your head of customer service", "someone in charge needs to sort this out",
]
CP_GRIEVANCE += [
    "the teller was rude and made me queue for an hour", "the contract says something different from what your adviser told me",
    "you charged an early withdrawal fee you said wouldn't apply", "my transfer failed but the money left my account",
    "you sold my elderly mum a high-risk product", "my credit report shows a late payment that never happened",
]
CP_SUBTLE += ["Twenty years I've banked with you, and this is what I get.", "You people should be embarrassed.",
              "I don't trust you with a penny anymore."]
NA_THIRD_PARTY = [
    "This is his colleague, he left his phone on the desk", "I'm her flatmate, she's still asleep",
    "Mum's not here, I'm her son", "He's at the gym, this is his wife", "It's his dad, he's out fishing",
    "She's in the shower, can you ring back later?", "I'm the cleaner, nobody's home",
]
NA_CHAT = [
    "A bank? There are so many scams these days.", "Oh right, I'll tell him you called.", "Leave a number and I'll pass it on.",
    "Sorry, the kids are screaming here.", "I'm at the market, how much for the fish?", "I'm on a hike, signal's awful.",
    "No idea when he'll be back.", "Hang on, let me find a pen.", "Are you a robot? You sound funny.",
]
NA_FRAGMENT = ["Uh... um...", "Er... yeah... hm", "Mm... the... uh", "...what... er...", "Oh... um... yeah",
               "Like... uh...", "Hm?... er"]
HUM_REQUEST += [
    "I need someone to look at my case properly", "have a loan officer review my documents", "book me in with an adviser at the branch",
    "get the person handling my application to call me", "I'd rather sit down with my RM", "can my relationship manager give me a ring?",
    "I'll only do this in person, set up a meeting", "send someone who can actually answer",
]
HUM_REASON += ["my situation is a bit unusual", "it's a large sum and I want proper advice", "the branch told me something different"]
INT_MIXED_LEAD += [
    "Your app is painfully slow, but anyway, ", "Last time your rate was a joke, but ", "I was annoyed about the fee last year, it got refunded, so ",
    "Your hotline always keeps me waiting, never mind, ", "I had a bad experience at the branch once, but ",
]
