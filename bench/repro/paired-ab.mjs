/** Paired per-round figures of bench/run.mjs A-B runs (fairway-deno-rr against fairway-deno-rr-base), written to bench/results/s11-dab.json. Usage: node bench/repro/paired-ab.mjs '{"name":{"a":"new","b":"base","files":["s11-dab-ab1"]}}' */
import fs from 'node:fs';
const dir = new URL('../results', import.meta.url).pathname;
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const groups = JSON.parse(process.argv[2]); // { name: { a, b, files: [...] } }
const out = { date: new Date().toISOString(), groups: {} };
for (const [name, g] of Object.entries(groups)) {
  const rounds = [];
  for (const f of g.files) {
    const r = JSON.parse(fs.readFileSync(`${dir}/${f}.json`, 'utf8'));
    const sc = r.scenarios.small;
    const runs = (t) => sc.runs.filter((x) => x.target === t);
    const sa = sc.summary.find((t) => t.target === 'fairway-deno-rr'), sb = sc.summary.find((t) => t.target === 'fairway-deno-rr-base');
    const ra = runs('fairway-deno-rr'), rb = runs('fairway-deno-rr-base');
    ra.forEach((x, i) =>
      rounds.push({
        file: f,
        round: x.round,
        firstOfPair: new Date(x.times.start) < new Date(rb[i].times.start) ? 'new' : 'base',
        ceilNew: sa.rps.ceilingRatios[i],
        ceilBase: sb.rps.ceilingRatios[i],
        cpuNew: x.cpuUsPerReq,
        cpuBase: rb[i].cpuUsPerReq,
        rssNew: x.peakRssMiB,
        rssBase: rb[i].peakRssMiB,
      })
    );
  }
  const m = (k) => med(rounds.map((r) => r[k]));
  const ratio = rounds.map((r) => r.ceilNew / r.ceilBase), cpuRatio = rounds.map((r) => r.cpuNew / r.cpuBase);
  out.groups[name] = {
    new: g.a,
    base: g.b,
    rounds: rounds.length,
    median: { ceilNew: m('ceilNew'), ceilBase: m('ceilBase'), cpuNew: m('cpuNew'), cpuBase: m('cpuBase'), rssNew: m('rssNew'), rssBase: m('rssBase') },
    pairedCeilRatio: { median: med(ratio), min: Math.min(...ratio), max: Math.max(...ratio), newAhead: ratio.filter((x) => x > 1).length },
    pairedCpuRatio: { median: med(cpuRatio), min: Math.min(...cpuRatio), max: Math.max(...cpuRatio) },
    pairedCeilRatioWhenNewFirst: med(rounds.filter((r) => r.firstOfPair === 'new').map((r) => r.ceilNew / r.ceilBase)),
    pairedCeilRatioWhenBaseFirst: med(rounds.filter((r) => r.firstOfPair === 'base').map((r) => r.ceilNew / r.ceilBase)),
    perRound: rounds,
  };
}
fs.writeFileSync(`${dir}/s11-dab.json`, JSON.stringify(out, null, 2) + '\n');
for (const [name, g] of Object.entries(out.groups)) {
  const f = (x, d = 2) => x.toFixed(d);
  console.log(
    `| ${name} | ${g.rounds} | ${f(g.median.ceilNew)} / ${f(g.median.ceilBase)} | ${f(g.pairedCeilRatio.median, 3)} (${f(g.pairedCeilRatio.min)}–${
      f(g.pairedCeilRatio.max)
    }), ahead ${g.pairedCeilRatio.newAhead}/${g.rounds} | ${f(g.pairedCeilRatioWhenNewFirst, 3)} / ${f(g.pairedCeilRatioWhenBaseFirst, 3)} | ${
      f(g.median.cpuNew, 0)
    } / ${f(g.median.cpuBase, 0)} | ${f(g.pairedCpuRatio.median, 3)} (${f(g.pairedCpuRatio.min)}–${f(g.pairedCpuRatio.max)}) | ${f(g.median.rssNew, 0)} / ${
      f(g.median.rssBase, 0)
    } |`,
  );
}
