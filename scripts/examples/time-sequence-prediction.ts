// PyTorch's examples/time_sequence_prediction (generate_sine_wave.py and train.py, BSD-3-Clause)
// ported as written with tstorch: two stacked LSTMCells and a Linear in float64, stepped through
// each sine wave and then on into the future on their own predictions, trained with LBFGS and a
// closure. test/time_sequence_prediction.test.ts runs it beside the Python original.
//   node dist/scripts/examples/time-sequence-prediction.js [--steps 15]
import * as torch from '../../lib';

const nn = torch.nn;

export class Sequence extends nn.Module {
  declare lstm1: torch.nn.LSTMCell;
  declare lstm2: torch.nn.LSTMCell;
  declare linear: torch.nn.Linear;
  constructor() {
    super();
    this.lstm1 = new nn.LSTMCell(1, 51);
    this.lstm2 = new nn.LSTMCell(51, 51);
    this.linear = new nn.Linear(51, 1);
  }
  forward(input: torch.Tensor, future = 0): torch.Tensor {
    return torch.tidy(() => {
      const outputs: torch.Tensor[] = [];
      let hT = torch.zeros(input.size(0), 51, { dtype: 'float64' });
      let cT = torch.zeros(input.size(0), 51, { dtype: 'float64' });
      let hT2 = torch.zeros(input.size(0), 51, { dtype: 'float64' });
      let cT2 = torch.zeros(input.size(0), 51, { dtype: 'float64' });

      let output!: torch.Tensor;
      for (const inputT of input.split(1, { dim: 1 })) {
        [hT, cT] = this.lstm1(inputT, [hT, cT]);
        [hT2, cT2] = this.lstm2(hT, [hT2, cT2]);
        output = this.linear(hT2);
        outputs.push(output);
      }
      for (let i = 0; i < future; i++) { // if we should predict the future
        [hT, cT] = this.lstm1(output, [hT, cT]);
        [hT2, cT2] = this.lstm2(hT, [hT2, cT2]);
        output = this.linear(hT2);
        outputs.push(output);
      }
      return torch.cat(outputs, { dim: 1 });
    });
  }
}

/** generate_sine_wave.py's data: N sine waves of L steps (period 2πT), each shifted by a random offset. */
export function sineWaves(N = 100, L = 1000, T = 20, seed = 2): torch.Tensor {
  return torch.tidy(() => {
    const offsets = torch.randint(-4 * T, 4 * T, [N, 1], { generator: new torch.Generator().manualSeed(seed) });
    const x = torch.arange(L).add(offsets);
    return torch.sin(x.div(1.0).div(T)).to('float64');
  });
}

/** train.py: LBFGS(lr 0.8) over steps, each minimising the MSE with a closure; the test loss after each, predicting `future` steps on. */
export function trainSequence(data: torch.Tensor, o: { steps?: number; future?: number; log?: (line: string) => void } = {}): { seq: Sequence; losses: number[]; testLosses: number[]; pred: torch.Tensor } {
  // set random seed to 0
  torch.manualSeed(0);
  // load data and make training set
  const input = data.index('3:', ':-1'), target = data.index('3:', '1:');
  const testInput = data.index(':3', ':-1'), testTarget = data.index(':3', '1:');
  // build the model
  const seq = new Sequence();
  seq.double();
  const criterion = new nn.MSELoss();
  // use LBFGS as optimizer since we can load the whole data to train
  const optimizer = new torch.optim.LBFGS(seq.parameters(), { lr: 0.8 });
  const future = o.future ?? 1000;
  const losses: number[] = [], testLosses: number[] = [];
  let pred: torch.Tensor | null = null;
  // begin to train
  for (let i = 0; i < (o.steps ?? 15); i++) {
    o.log?.(`STEP:  ${i}`);
    const closure = () => {
      optimizer.zeroGrad();
      const out = seq(input);
      const loss = criterion(out, target);
      o.log?.(`loss: ${loss.item()}`);
      losses.push(loss.item());
      loss.backward();
      return loss;
    };
    optimizer.step(closure);
    // begin to predict, no need to track gradient here
    torch.noGrad(() => {
      pred?.dispose();
      pred = seq(testInput, future);
      const loss = torch.tidy(() => criterion(pred!.index(':', `:-${future}`), testTarget).item());
      o.log?.(`test loss: ${loss}`);
      testLosses.push(loss);
    });
  }
  for (const t of [input, target, testInput, testTarget]) t.dispose();
  optimizer.dispose();
  return { seq, losses, testLosses, pred: pred! };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--steps');
  const data = sineWaves();
  const { pred } = trainSequence(data, { steps: i >= 0 ? Number(args[i + 1]) : 15, log: console.log });
  console.log(`predicted the next 1000 steps of 3 waves: [${pred.shape}]`);
}
