// PyTorch's examples/mnist_rnn (main.py, BSD-3-Clause) ported as written with tstorch: each image
// read row by row by an LSTM (batch_first), its last output through BatchNorm1d, Dropout2d on a
// 2-D input (deprecated in PyTorch, element-wise there and here, with PyTorch's warning) and two
// linear layers; Adadelta with StepLR; mnist.ts's train(), test() and main(). test/mnist.test.ts runs it
// beside the Python original on the same synthetic digits.
//   node dist/scripts/examples/mnist-rnn.js [--epochs 3]
import * as torch from '../../lib';
import * as mnist from './mnist';
import { syntheticDigits } from './mnist';

const nn = torch.nn;
const F = nn.functional;

export class Net extends nn.Module {
  declare rnn: torch.nn.LSTM;
  declare batchnorm: torch.nn.BatchNorm1d;
  declare dropout1: torch.nn.Dropout2d;
  declare dropout2: torch.nn.Dropout2d;
  declare fc1: torch.nn.Linear;
  declare fc2: torch.nn.Linear;
  constructor() {
    super();
    this.rnn = new nn.LSTM({ inputSize: 28, hiddenSize: 64, batchFirst: true });
    this.batchnorm = new nn.BatchNorm1d(64);
    this.dropout1 = new nn.Dropout2d(0.25);
    this.dropout2 = new nn.Dropout2d(0.5);
    this.fc1 = new nn.Linear(64, 32);
    this.fc2 = new nn.Linear(32, 10);
  }
  forward(input: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      // Shape of input is (batch_size,1, 28, 28)
      // converting shape of input to (batch_size, 28, 28)
      // as required by RNN when batch_first is set True
      input = input.reshape(-1, 28, 28);
      let [output] = this.rnn(input);
      // RNN output shape is (seq_len, batch, input_size)
      // Get last output of RNN
      output = output.index(':', -1, ':');
      output = this.batchnorm(output);
      output = this.dropout1(output);
      output = this.fc1(output);
      output = F.relu(output);
      output = this.dropout2(output);
      output = this.fc2(output);
      output = F.logSoftmax(output, { dim: 1 });
      return output;
    });
  }
}

/** main.py's main(): mnist's, with this Net and its learning rate (0.1). */
export function main(o: Omit<mnist.MainOptions, 'log'> & { log?: (line: string) => void }) {
  return mnist.main({ ...o, lr: o.lr ?? 0.1, makeModel: () => new Net() });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const [trainImages, trainLabels] = syntheticDigits(2048, 0);
  const [testImages, testLabels] = syntheticDigits(1000, 1);
  main({ trainImages, trainLabels, testImages, testLabels, epochs: i >= 0 ? Number(process.argv[i + 1]) : 3, log: console.log });
}
