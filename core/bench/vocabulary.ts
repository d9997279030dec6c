// Common English words that are one token in the tokenizers of the usual open models (Llama,
// Mistral, Qwen) when preceded by a space, so N words make a prompt of about N tokens.
// The exact count always comes from the server's usage.
export const WORDS = `the of and to in is was for on that with as by at from his it an were are which be this
has or had not first one their its new after but who they have her she two been other when there all during into
school time may years more most only over city some world would where later up such used many can state about
national out known university united then made team three between well part year people under high work while
age music life group game house water city long area north south east west early since season home became name
film war until each these album now both system local during end three small three however through river family
body park law best great year best car light line open power road rock show song town way word book case day eye
fact form hand head job kind land left man night note place point side sound story thing tree view voice wall
woman air art ball bank bed bird blue boat box bridge brown card cell chair child church class club cold color
corn cost court cross cup dark data door dream earth egg energy event field fire fish floor flow food foot force
forest friend fruit garden gas glass gold green ground growth hair heart heat hill hole horse hour ice idea iron
island key king lake language lead level list love machine market metal middle milk mind moment money moon morning
mother mountain nature news noise ocean office oil page paper peace piece plan plant play port price problem
question race rain range rate record red region report rest rice ring rule salt sand sea seat seed shape ship
shop shore silver size skin sky snow soil space speed spring square star station steel stone street summer sun
table tail test thought tool top trade train travel truth unit value village watch wave weather wheel white wind
window winter wood yard yellow young zone`
  .split(/\s+/)
  .filter((w, i, all) => w && all.indexOf(w) === i)
