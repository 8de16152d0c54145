// kafkajs against the broker: the scenarios of ../platformatic/driver.js that
// the other kafkajs tests do not cover, with the same lines, for
// tests/integration/node_clients_test.cpp. kafkajs has no assign(): records
// are read back by a group member from the beginning. Its codecs are none and
// gzip (snappy, lz4 and zstd need codec packages of their own); its admin
// client has AlterConfigs but not IncrementalAlterConfigs.
//   node driver.js <scenario> <host:port> <topic> [group]
// Scenarios: produce, group, admin.

'use strict'

const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = require('kafkajs')

const [scenario, bootstrap, topic, group] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'kb-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING })
const codecs = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

function text (buffer) {
  return buffer === null || buffer === undefined ? 'null' : buffer.toString()
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// Polls `done` until it holds, failing after `ms`.
async function waitFor (what, done, ms = 30000) {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function withAdmin (work) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await work(admin)
  } finally {
    await admin.disconnect()
  }
}

function createTopic (admin, name, partitions, configEntries = []) {
  return admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }], waitForLeaders: true })
}

// Acks 0, 1 and all (idempotent), each with none and gzip: three records a
// batch, keys, headers, a null value; then read back from the beginning.
async function produce () {
  await withAdmin(admin => createTopic(admin, topic, 1))
  const plain = kafka.producer()
  const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await plain.connect()
  await idempotent.connect()
  let count = 0
  for (const [acks, name, producer] of [[0, '0', plain], [1, '1', plain], [-1, 'all', idempotent]]) {
    for (const codec of Object.keys(codecs)) {
      const messages = [0, 1, 2].map(i => ({
        partition: 0,
        key: `${name}-${codec}-k${i}`,
        value: i === 2 ? null : `${name}-${codec}-v${i}`,
        headers: { codec, index: String(i) }
      }))
      const result = await producer.send({ topic, messages, acks, compression: codecs[codec] })
      console.log(`sent ${name} ${codec}` + (acks === 0 ? '' : ` ${result[0].baseOffset}`))
      count += messages.length
    }
  }
  await plain.disconnect()
  await idempotent.disconnect()

  const reader = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100 })
  await reader.connect()
  await reader.subscribe({ topics: [topic], fromBeginning: true })
  const records = []
  reader.run({
    autoCommit: false,
    eachMessage: async ({ partition, message: m }) => {
      const headers = Object.entries(m.headers ?? {}).map(([k, v]) => `${k}=${text(v)}`)
      records.push({ partition, offset: Number(m.offset), key: text(m.key), value: text(m.value), headers })
    }
  })
  await waitFor(`${count} records`, () => records.length >= count)
  await reader.disconnect()
  records.sort((a, b) => a.offset - b.offset)
  for (const r of records) {
    const headers = r.headers.length ? ' ' + r.headers.join(' ') : ''
    console.log(`record ${r.partition}:${r.offset} key=${r.key} value=${r.value}${headers}`)
  }
}

// Three members share six partitions; one leaves, the other two take its
// partitions over. Every record produced before and after is seen.
async function groupScenario () {
  await withAdmin(admin => createTopic(admin, topic, 6))
  const producer = kafka.producer()
  await producer.connect()
  const send = async (from, to) => {
    const messages = []
    for (let n = from; n < to; n++) messages.push({ partition: n % 6, key: `g${n}`, value: String(n) })
    await producer.send({ topic, messages, acks: -1 })
  }
  await send(0, 60)

  const seen = new Set()
  const owned = [[], [], []]
  const joins = [0, 0, 0]
  const members = [0, 1, 2].map(() => kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 200, maxWaitTimeInMs: 100 }))
  for (const [i, member] of members.entries()) {
    // kafkajs has no assignment(): each join reports the member's partitions.
    member.on(member.events.GROUP_JOIN, e => {
      owned[i] = (e.payload.memberAssignment[topic] ?? []).slice().sort((x, y) => x - y)
      joins[i]++
    })
    await member.connect()
    await member.subscribe({ topics: [topic], fromBeginning: true })
    member.run({ eachMessage: async ({ message }) => { seen.add(text(message.key)) } })
  }
  const settled = ids => {
    const all = ids.flatMap(i => owned[i])
    return all.length === 6 && new Set(all).size === 6 && ids.every(i => owned[i].length > 0)
  }
  await waitFor('three members owning six partitions', () => settled([0, 1, 2]) && seen.size >= 60)
  owned.forEach((p, i) => console.log(`before member ${i} owns ${p.join(',')}`))
  console.log(`seen ${[...Array(60).keys()].filter(n => seen.has(`g${n}`)).length} of 60`)

  const joined = joins.slice()
  await members[2].disconnect()
  await waitFor('two members owning six partitions', () => joins[0] > joined[0] && joins[1] > joined[1] && settled([0, 1]))
  owned.slice(0, 2).forEach((p, i) => console.log(`after member ${i} owns ${p.join(',')}`))
  await send(60, 120)
  await waitFor('the records after the rebalance', () => [...Array(120).keys()].every(n => seen.has(`g${n}`)))
  console.log(`seen ${[...Array(120).keys()].filter(n => seen.has(`g${n}`)).length} of 120`)
  for (const m of members.slice(0, 2)) await m.disconnect()
  await producer.disconnect()
}

// Create (with a config), list, add partitions, alter and describe configs,
// delete.
async function adminScenario () {
  const a = `${topic}-a`
  const b = `${topic}-b`
  await withAdmin(async admin => {
    await createTopic(admin, a, 1)
    await createTopic(admin, b, 2, [{ name: 'retention.ms', value: '3600000' }])
    const listed = async () => (await admin.listTopics()).filter(t => t.startsWith(topic)).sort()
    console.log(`listed ${(await listed()).join(' ')}`)
    await admin.createPartitions({ topicPartitions: [{ topic: a, count: 3 }] })
    const { topics } = await admin.fetchTopicMetadata({ topics: [a, b] })
    const count = name => topics.find(t => t.name === name).partitions.length
    console.log(`partitions ${a} ${count(a)} ${b} ${count(b)}`)
    // AlterConfigs sets a topic's whole config: b keeps only these two.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: b, configEntries: [{ name: 'retention.ms', value: '7200000' }, { name: 'max.message.bytes', value: '200000' }] },
        { type: ConfigResourceTypes.TOPIC, name: a, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }
      ]
    })
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [a, b].map(name => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'max.message.bytes', 'retention.ms'] }))
    })
    for (const resource of described.resources.sort((x, y) => x.resourceName.localeCompare(y.resourceName))) {
      for (const c of resource.configEntries.sort((x, y) => x.configName.localeCompare(y.configName))) {
        console.log(`config ${resource.resourceName} ${c.configName}=${c.configValue} source ${c.configSource}`)
      }
    }
    await admin.deleteTopics({ topics: [a, b] })
    console.log(`listed ${(await listed()).join(' ')}`.trimEnd())
  })
}

const scenarios = { produce, group: groupScenario, admin: adminScenario }

scenarios[scenario]().then(
  () => process.exit(0),
  error => {
    console.log(`error ${error.stack ?? error}`)
    process.exit(1)
  })
